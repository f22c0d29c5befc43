using System.Globalization;
using System.Text;

namespace PcieSim.Topology.Language;

/// <summary>
/// Resolves the flags of a topology into a <see cref="TopologySpec"/>: unique names, bus ranges, ECAM bases,
/// root-port devfns (OpenVMM's in-order assignment), the port tree and the canonical flag list.
/// </summary>
internal sealed class TopologyResolver
{
    private const ulong EcamBlockBase = 0x10_0000_0000;
    private const ulong EcamSegmentStride = 0x1_0000_0000;
    private const int AmdIommuReservedDevice = 0x14;

    private readonly List<Decl> decls;
    private readonly Dictionary<string, (string What, Decl Decl)> names = new(StringComparer.Ordinal);

    public TopologyResolver(IEnumerable<FlagValue> flags)
    {
        decls = flags.Select(FlagReader.Read).ToList();
    }

    public TopologySpec Resolve()
    {
        CheckNames();
        List<RcDecl> rcs = decls.OfType<RcDecl>().ToList();
        var rcByName = rcs.ToDictionary(rc => rc.Name, StringComparer.Ordinal);
        CheckBusRanges(rcs);
        GicMsiSpec? gic = ResolveGicMsi();
        if (decls.OfType<EcamBelowDecl>().FirstOrDefault() is { } below && rcs.Count == 0)
        {
            throw below.F.Error(below.F.FlagPos, "needs a --pcie-root-complex (there is no ECAM to place)");
        }

        Dictionary<string, IommuDecl> iommus = ResolveIommus(rcByName);
        Dictionary<string, ulong> ecamBases = ResolveEcam(rcs);
        Dictionary<string, List<RpDecl>> portsByRc = GroupPorts(rcs, rcByName);

        var rootComplexes = new List<RootComplexSpec>();
        foreach (RcDecl rc in rcs)
        {
            bool iommu = iommus.ContainsKey(rc.Name);
            byte firstDevice = (byte)(iommu ? 1 : 0);
            uint reserved = iommu && rc.Segment == 0 && rc.StartBus == 0 ? 1u << AmdIommuReservedDevice : 0;
            List<RootPortSpec> ports = PlacePorts(rc, portsByRc[rc.Name], iommu, firstDevice, reserved);
            rootComplexes.Add(new RootComplexSpec(
                rc.Name,
                rc.Segment,
                rc.StartBus,
                rc.EndBus,
                ecamBases[rc.Name],
                rc.EcamBase.HasValue,
                rc.LowMmio,
                rc.HighMmio,
                rc.LowMmioBase,
                rc.HighMmioBase,
                iommu,
                firstDevice,
                reserved,
                ports));
        }

        List<SwitchSpec> switches = decls.OfType<SwDecl>().Select(BuildSwitch).ToList();
        AttachChildren();
        List<EndpointSpec> endpoints = decls.OfType<EpDecl>().Select(e => e.Spec).ToList();

        var ignored = new List<IgnoredOption>();
        foreach (Decl decl in decls)
        {
            if (decl is RcDecl rc)
            {
                ignored.AddRange(rc.Ignored);
            }
            else if (decl is EcamBelowDecl)
            {
                ignored.Add(new IgnoredOption(TopologyParser.EcamBelow4GbFlag, string.Empty));
            }
        }

        List<string> normalised = Normalise(rootComplexes, switches, endpoints, gic);
        return new TopologySpec(rootComplexes, switches, endpoints, gic, ignored, normalised);
    }

    private static string At(Decl decl) =>
        string.Create(CultureInfo.InvariantCulture, $"'{decl.F.Display}' at {decl.F.FlagPos.Source}:{decl.F.FlagPos.Line}:{decl.F.FlagPos.Column}");

    private static string Devfn(int devfn) =>
        string.Create(CultureInfo.InvariantCulture, $"{devfn >> 3:x2}.{devfn & 7}");

    private void CheckNames()
    {
        foreach (Decl decl in decls)
        {
            switch (decl)
            {
                case RcDecl rc:
                    Claim(rc.Name, "root complex", rc, rc.F.RawPos);
                    break;
                case RpDecl rp:
                    Claim(rp.Name, "root port", rp, rp.NamePos);
                    break;
                case SwDecl sw:
                    Claim(sw.Name, "switch", sw, sw.NamePos);
                    for (int i = 0; i < sw.Count; i++)
                    {
                        Claim(DownstreamName(sw.Name, i), $"downstream port {i} of switch '{sw.Name}'", sw, sw.NamePos);
                    }

                    break;
                case EpDecl ep:
                    Claim(ep.Name, "endpoint", ep, ep.NamePos);
                    break;
                default:
                    break;
            }
        }
    }

    private void Claim(string name, string what, Decl decl, Pos pos)
    {
        if (names.TryGetValue(name, out (string What, Decl Decl) earlier))
        {
            throw decl.F.Error(
                pos,
                $"name '{name}' is used twice: by the {earlier.What} of {At(earlier.Decl)} and by the {what} here (names must be unique across root complexes, ports, switches and endpoints)");
        }

        names.Add(name, (what, decl));
    }

    internal static string DownstreamName(string switchName, int index) =>
        switchName + "-downstream-" + index.ToString(CultureInfo.InvariantCulture);

    private static void CheckBusRanges(List<RcDecl> rcs)
    {
        for (int j = 0; j < rcs.Count; j++)
        {
            RcDecl b = rcs[j];
            for (int i = 0; i < j; i++)
            {
                RcDecl a = rcs[i];
                if (a.Segment == b.Segment && a.StartBus <= b.EndBus && b.StartBus <= a.EndBus)
                {
                    throw b.F.Error(
                        b.F.RawPos,
                        $"buses {b.StartBus}..{b.EndBus} on segment {b.Segment} overlap root complex '{a.Name}' (buses {a.StartBus}..{a.EndBus}, {At(a)}); root complexes of one segment need disjoint bus ranges");
                }
            }
        }
    }

    private GicMsiSpec? ResolveGicMsi()
    {
        GicDecl? first = null;
        foreach (GicDecl gic in decls.OfType<GicDecl>())
        {
            if (first is not null)
            {
                throw gic.F.Error(gic.F.FlagPos, $"--gic-msi may be given at most once (already given as {At(first)})");
            }

            first = gic;
        }

        return first?.Spec;
    }

    private Dictionary<string, IommuDecl> ResolveIommus(Dictionary<string, RcDecl> rcByName)
    {
        var result = new Dictionary<string, IommuDecl>(StringComparer.Ordinal);
        foreach (IommuDecl iommu in decls.OfType<IommuDecl>())
        {
            if (!rcByName.ContainsKey(iommu.RootComplex))
            {
                throw iommu.F.Error(iommu.F.RawPos, $"unknown root complex '{iommu.RootComplex}' ({Known(rcByName.Keys)})");
            }

            if (result.TryGetValue(iommu.RootComplex, out IommuDecl? earlier))
            {
                throw iommu.F.Error(
                    iommu.F.FlagPos,
                    $"root complex '{iommu.RootComplex}' already has an AMD IOMMU ({At(earlier)}); give --amd-iommu once per root complex");
            }

            result.Add(iommu.RootComplex, iommu);
        }

        return result;
    }

    private string Known(IEnumerable<string> rcNames)
    {
        // Keep flag order: list root complexes as they were declared.
        var ordered = decls.OfType<RcDecl>().Select(rc => rc.Name).Where(rcNames.Contains).ToList();
        return ordered.Count == 0 ? "no --pcie-root-complex is declared" : "known: " + string.Join(", ", ordered);
    }

    private static Dictionary<string, ulong> ResolveEcam(List<RcDecl> rcs)
    {
        var lowestStart = new Dictionary<ushort, byte>();
        foreach (RcDecl rc in rcs)
        {
            lowestStart[rc.Segment] = lowestStart.TryGetValue(rc.Segment, out byte low) ? Math.Min(low, rc.StartBus) : rc.StartBus;
        }

        var bases = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (RcDecl rc in rcs)
        {
            bases[rc.Name] = rc.EcamBase
                ?? EcamBlockBase + (rc.Segment * EcamSegmentStride) + ((ulong)(rc.StartBus - lowestStart[rc.Segment]) << 20);
        }

        for (int j = 0; j < rcs.Count; j++)
        {
            RcDecl b = rcs[j];
            ulong bStart = bases[b.Name];
            ulong bEnd = bStart + ((ulong)(b.EndBus - b.StartBus) << 20) + 0xF_FFFF;
            for (int i = 0; i < j; i++)
            {
                RcDecl a = rcs[i];
                ulong aStart = bases[a.Name];
                ulong aEnd = aStart + ((ulong)(a.EndBus - a.StartBus) << 20) + 0xF_FFFF;
                if (aStart <= bEnd && bStart <= aEnd)
                {
                    Pos pos = b.F.Find("ecam_base")?.ValuePos ?? b.F.RawPos;
                    throw b.F.Error(
                        pos,
                        $"ECAM window {TopologyParser.Hex(bStart)}..{TopologyParser.Hex(bEnd)} overlaps root complex '{a.Name}''s ECAM window {TopologyParser.Hex(aStart)}..{TopologyParser.Hex(aEnd)} ({At(a)}); choose a different ecam_base");
                }
            }
        }

        return bases;
    }

    private Dictionary<string, List<RpDecl>> GroupPorts(List<RcDecl> rcs, Dictionary<string, RcDecl> rcByName)
    {
        var result = rcs.ToDictionary(rc => rc.Name, _ => new List<RpDecl>(), StringComparer.Ordinal);
        foreach (RpDecl rp in decls.OfType<RpDecl>())
        {
            if (!rcByName.ContainsKey(rp.RootComplex))
            {
                throw rp.F.Error(rp.RootComplexPos, $"unknown root complex '{rp.RootComplex}' ({Known(rcByName.Keys)})");
            }

            result[rp.RootComplex].Add(rp);
        }

        return result;
    }

    /// <summary>
    /// OpenVMM's devfn assignment: ports in flag order; an explicit address is taken as given and collides
    /// with any port placed before it (explicit or automatic); an automatic port takes the lowest free devfn at
    /// or above the first port device. Then every populated device needs a port at function 0.
    /// </summary>
    private static List<RootPortSpec> PlacePorts(RcDecl rc, List<RpDecl> ports, bool iommu, byte firstDevice, uint reserved)
    {
        int capacity = (32 - firstDevice) * 8;
        if (ports.Count > capacity)
        {
            RpDecl extra = ports[capacity];
            throw extra.F.Error(
                extra.NamePos,
                $"too many root ports on root complex '{rc.Name}': {ports.Count} given, at most {capacity} fit (devices {firstDevice}..31, 8 functions each)");
        }

        var owner = new RpDecl?[256];
        var devfns = new byte[ports.Count];
        for (int i = 0; i < ports.Count; i++)
        {
            RpDecl port = ports[i];
            int devfn;
            if (port.Devfn is byte wanted)
            {
                if (iommu && wanted >> 3 == 0)
                {
                    throw port.F.Error(
                        port.AddrPos,
                        $"port '{port.Name}' at {Devfn(wanted)} collides with the amd-iommu at device 0 of root complex '{rc.Name}' (ports start at device 1)");
                }

                if (owner[wanted] is { } holder)
                {
                    throw port.F.Error(
                        port.AddrPos,
                        $"devfn {Devfn(wanted)} of root complex '{rc.Name}' is already taken by port '{holder.Name}' ({At(holder)}); ports '{holder.Name}' and '{port.Name}' conflict");
                }

                devfn = wanted;
            }
            else
            {
                devfn = Enumerable.Range(firstDevice << 3, 256 - (firstDevice << 3)).FirstOrDefault(d => owner[d] is null, -1);
                if (devfn < 0)
                {
                    throw port.F.Error(port.NamePos, $"no free devfn left for port '{port.Name}' on root complex '{rc.Name}'");
                }
            }

            if ((reserved & (1u << (devfn >> 3))) != 0)
            {
                throw port.F.Error(
                    port.Devfn.HasValue ? port.AddrPos : port.NamePos,
                    $"port '{port.Name}' would land at {Devfn(devfn)}, but device {devfn >> 3} (0x{devfn >> 3:x2}) of root complex '{rc.Name}' is reserved: with the amd-iommu, 00:14.0 is the southbridge IOAPIC's requester ID");
            }

            owner[devfn] = port;
            devfns[i] = (byte)devfn;
        }

        for (int i = 0; i < ports.Count; i++)
        {
            int device = devfns[i] >> 3;
            if (owner[device << 3] is null)
            {
                RpDecl port = ports[i];
                throw port.F.Error(
                    port.AddrPos,
                    $"port '{port.Name}' at {Devfn(devfns[i])} has no port at function 0 of device {device} on root complex '{rc.Name}'; the guest probes function 0 first, so the device would be undiscoverable");
            }
        }

        var result = new List<RootPortSpec>(ports.Count);
        for (int i = 0; i < ports.Count; i++)
        {
            int device = devfns[i] >> 3;
            int functions = Enumerable.Range(device << 3, 8).Count(d => owner[d] is not null);
            RpDecl port = ports[i];
            result.Add(new RootPortSpec(
                port.Name, rc.Name, devfns[i], port.Devfn.HasValue, port.Options, (ushort)(i + 1), functions > 1));
        }

        return result;
    }

    private static SwitchSpec BuildSwitch(SwDecl sw)
    {
        var ports = new List<DownstreamPortSpec>(sw.Count);
        for (int i = 0; i < sw.Count; i++)
        {
            int device = i >> 3;
            int onDevice = Math.Min(8, sw.Count - (device << 3));
            ports.Add(new DownstreamPortSpec(DownstreamName(sw.Name, i), i, (byte)i, (ushort)(i + 1), onDevice > 1));
        }

        return new SwitchSpec(sw.Name, sw.Parent, sw.Options, ports);
    }

    private sealed class PortNode(string name, SwDecl? ownerSwitch)
    {
        public string Name { get; } = name;

        /// <summary>The switch a downstream port belongs to; null for a root port.</summary>
        public SwDecl? OwnerSwitch { get; } = ownerSwitch;

        public Decl? Child { get; set; }
    }

    private void AttachChildren()
    {
        var ports = new Dictionary<string, PortNode>(StringComparer.Ordinal);
        foreach (Decl decl in decls)
        {
            if (decl is RpDecl rp)
            {
                ports.Add(rp.Name, new PortNode(rp.Name, null));
            }
            else if (decl is SwDecl sw)
            {
                for (int i = 0; i < sw.Count; i++)
                {
                    string name = DownstreamName(sw.Name, i);
                    ports.Add(name, new PortNode(name, sw));
                }
            }
        }

        foreach (Decl decl in decls)
        {
            (string? parent, Pos pos, string what) = decl switch
            {
                SwDecl sw => (sw.Parent, sw.ParentPos, $"switch '{sw.Name}'"),
                EpDecl ep => (ep.Port, ep.PortPos, $"endpoint '{ep.Name}'"),
                _ => (null, default, string.Empty),
            };
            if (parent is null)
            {
                continue;
            }

            if (!ports.TryGetValue(parent, out PortNode? node))
            {
                if (names.TryGetValue(parent, out (string What, Decl Decl) named))
                {
                    throw decl.F.Error(pos, $"'{parent}' is a {named.What} ({At(named.Decl)}), not a port; {(decl is SwDecl ? "a switch" : "an endpoint")} attaches to a root port or a switch downstream port");
                }

                string known = ports.Count == 0 ? "no ports are declared" : "known ports: " + string.Join(", ", ports.Keys);
                throw decl.F.Error(pos, $"unknown port '{parent}' ({known})");
            }

            if (node.Child is { } child)
            {
                string childWhat = child is SwDecl csw ? $"switch '{csw.Name}'" : $"endpoint '{((EpDecl)child).Name}'";
                throw decl.F.Error(
                    pos,
                    $"port '{parent}' already holds {childWhat} ({At(child)}); a port holds one child, so {what} cannot attach there too");
            }

            node.Child = decl;
        }

        foreach (SwDecl sw in decls.OfType<SwDecl>())
        {
            var chain = new List<string> { sw.Name };
            SwDecl current = sw;
            while (ports[current.Parent].OwnerSwitch is { } up)
            {
                chain.Add(up.Name);
                if (ReferenceEquals(up, sw))
                {
                    throw sw.F.Error(
                        sw.ParentPos,
                        $"switch '{sw.Name}' has no path to a root port: its parent ports form a cycle ({string.Join(" -> ", chain)})");
                }

                if (chain.Count > decls.Count + 1)
                {
                    // Part of a cycle that does not include this switch: reported when that cycle's own switch is checked.
                    break;
                }

                current = up;
            }
        }
    }

    /// <summary>One canonical flag per line, in input flag order, every option explicit (ignored options left out).</summary>
    private List<string> Normalise(
        List<RootComplexSpec> rcs, List<SwitchSpec> switches, List<EndpointSpec> endpoints, GicMsiSpec? gic)
    {
        var rcByName = rcs.ToDictionary(rc => rc.Name, StringComparer.Ordinal);
        var portByName = rcs.SelectMany(rc => rc.Ports).ToDictionary(p => p.Name, StringComparer.Ordinal);
        var switchByName = switches.ToDictionary(sw => sw.Name, StringComparer.Ordinal);
        var endpointByName = endpoints.ToDictionary(ep => ep.Name, StringComparer.Ordinal);
        var lines = new List<string>(decls.Count);
        foreach (Decl decl in decls)
        {
            switch (decl)
            {
                case RcDecl d:
                    lines.Add(RootComplexLine(rcByName[d.Name]));
                    break;
                case RpDecl d:
                    RootPortSpec port = portByName[d.Name];
                    lines.Add(string.Create(
                        CultureInfo.InvariantCulture,
                        $"{TopologyParser.RootPortFlag} {port.RootComplex}:{port.Name},addr=0x{port.Devfn >> 3:x2}.{port.Devfn & 7}{Options(port.Options)}"));
                    break;
                case SwDecl d:
                    SwitchSpec sw = switchByName[d.Name];
                    lines.Add(string.Create(
                        CultureInfo.InvariantCulture,
                        $"{TopologyParser.SwitchFlag} {sw.ParentPort}:{sw.Name},num_downstream_ports={sw.DownstreamPorts.Count}{Options(sw.Options)}"));
                    break;
                case EpDecl d:
                    lines.Add(EndpointLine(endpointByName[d.Name]));
                    break;
                case IommuDecl d:
                    lines.Add(TopologyParser.AmdIommuFlag + " " + d.RootComplex);
                    break;
                case GicDecl:
                    lines.Add(GicLine(gic!));
                    break;
                default:
                    break;
            }
        }

        return lines;
    }

    private static string RootComplexLine(RootComplexSpec rc)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{TopologyParser.RootComplexFlag} {rc.Name},segment={rc.Segment},start_bus={rc.StartBus},end_bus={rc.EndBus}");
        sb.Append(",ecam_base=").Append(TopologyParser.Hex(rc.EcamBase));
        sb.Append(",low_mmio=").Append(TopologyParser.Hex(rc.LowMmioSize));
        sb.Append(",high_mmio=").Append(TopologyParser.Hex(rc.HighMmioSize));
        if (rc.LowMmioBase is ulong low)
        {
            sb.Append(",low_mmio_base=").Append(TopologyParser.Hex(low));
        }

        if (rc.HighMmioBase is ulong high)
        {
            sb.Append(",high_mmio_base=").Append(TopologyParser.Hex(high));
        }

        return sb.ToString();
    }

    private static string EndpointLine(EndpointSpec ep)
    {
        var sb = new StringBuilder(TopologyParser.EndpointFlag).Append(' ');
        if (ep.Port is not null)
        {
            sb.Append(ep.Port).Append(':');
        }

        sb.Append(ep.Name);
        if (ep.Template == EndpointTemplate.Nvme)
        {
            return sb.Append(",template=nvme").ToString();
        }

        sb.Append(CultureInfo.InvariantCulture, $",template=generic,vendor=0x{ep.VendorId:x4},device=0x{ep.DeviceId:x4},class=0x{ep.ClassCode:x6}");
        sb.Append(CultureInfo.InvariantCulture, $",subsystem=0x{ep.SubsystemVendorId:x4}:0x{ep.SubsystemId:x4}");
        foreach (int bar in new[] { 0, 2, 4 })
        {
            if (ep.BarSizes[bar] != 0 && !(ep.MsixVectors > 0 && ep.MsixBar == bar))
            {
                sb.Append(CultureInfo.InvariantCulture, $",bar{bar}=").Append(TopologyParser.Hex(ep.BarSizes[bar]));
            }
        }

        if (ep.MsiVectors > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $",msi={ep.MsiVectors}");
        }

        if (ep.MsixVectors > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $",msix={ep.MsixVectors}@bar{ep.MsixBar}");
        }

        return sb.ToString();
    }

    private static string GicLine(GicMsiSpec gic) => gic.Mode == GicMsiMode.Its
        ? TopologyParser.GicMsiFlag + " its,translater=" + TopologyParser.Hex(gic.TranslaterAddress)
        : string.Create(
            CultureInfo.InvariantCulture,
            $"{TopologyParser.GicMsiFlag} v2m,frame={TopologyParser.Hex(gic.FrameBase)},spi_base={gic.SpiBase},spi_count={gic.SpiCount}");

    internal static string Options(PortOptions options)
    {
        var sb = new StringBuilder();
        if (options.Hotplug)
        {
            sb.Append(",hotplug");
        }

        if (options.CommandCompleted)
        {
            sb.Append(",cc");
        }

        sb.Append(",acs=0x").Append(options.AcsMask.ToString("x4", CultureInfo.InvariantCulture));
        if (options.Pasid)
        {
            sb.Append(",pasid");
        }

        return sb.ToString();
    }
}
