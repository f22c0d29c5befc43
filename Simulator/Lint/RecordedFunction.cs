using System.Globalization;

namespace PcieSim.Lint;

/// <summary>A function's address as a trace accessed it: segment, bus and devfn at the time of the access.</summary>
public readonly record struct FunctionAddress(ushort Segment, byte Bus, byte Devfn) : IComparable<FunctionAddress>
{
    /// <summary>Address order: segment, bus, devfn.</summary>
    public int CompareTo(FunctionAddress other) =>
        ((uint)Segment << 16 | (uint)Bus << 8 | Devfn).CompareTo((uint)other.Segment << 16 | (uint)other.Bus << 8 | other.Devfn);

    public static bool operator <(FunctionAddress left, FunctionAddress right) => left.CompareTo(right) < 0;

    public static bool operator >(FunctionAddress left, FunctionAddress right) => left.CompareTo(right) > 0;

    public static bool operator <=(FunctionAddress left, FunctionAddress right) => left.CompareTo(right) <= 0;

    public static bool operator >=(FunctionAddress left, FunctionAddress right) => left.CompareTo(right) >= 0;

    /// <summary>Requester ID: bus and devfn (PCIe Base Spec r6.0 §2.2.6.2).</summary>
    public ushort RequesterId => (ushort)((Bus << 8) | Devfn);

    /// <summary><c>SSSS:BB:DD.F</c>, as lspci prints it.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Segment:x4}:{Bus:x2}:{Devfn >> 3:x2}.{Devfn & 7}");
}

/// <summary>
/// What a recorded trace shows of one function's configuration space, with no model: the last value read or written
/// at each byte, the bytes read from read-only registers, and the capability lists followed from the reads
/// (Capabilities Pointer and capability headers, PCIe Base Spec r6.0 §7.5.1.1.11 and §7.5.3; extended capability
/// headers, §7.6.3). Nothing is assumed about where a capability is: it is known once the trace read its header.
/// </summary>
public sealed class RecordedFunction
{
    /// <summary>Capability IDs the linter and importer use (PCI Code and ID Assignment Specification).</summary>
    public const byte PciExpressId = 0x10;

    public const byte MsiId = 0x05;

    public const byte MsixId = 0x11;

    public const byte PowerManagementId = 0x01;

    public const byte BridgeSubsystemId = 0x0D;

    private const int Size = 4096;

    private readonly byte[] bytes = new byte[Size];
    private readonly bool[] known = new bool[Size];
    private readonly bool[] readOnlyRead = new bool[Size];
    private readonly SortedDictionary<int, byte> capabilities = [];
    private readonly SortedDictionary<int, ushort> extended = [];
    private readonly SortedSet<int> pointers = [];
    private readonly SortedSet<int> extendedPointers = [0x100];
    private int capabilityPointer = -1;

    public RecordedFunction(FunctionAddress address) => Address = address;

    public FunctionAddress Address { get; }

    /// <summary>Whether any read of this function returned something other than all-ones.</summary>
    public bool Responded { get; private set; }

    /// <summary>Capabilities found so far: offset and ID, in offset order.</summary>
    public IReadOnlyDictionary<int, byte> Capabilities => capabilities;

    /// <summary>Extended capabilities found so far: offset and ID, in offset order.</summary>
    public IReadOnlyDictionary<int, ushort> ExtendedCapabilities => extended;

    /// <summary>Whether the trace read the Capabilities Pointer or a capability header of this function.</summary>
    public bool CapabilityListRead => capabilityPointer >= 0;

    /// <summary>The offset of the first capability with this ID found so far, or null.</summary>
    public int? Capability(byte id)
    {
        foreach (var (offset, capId) in capabilities)
        {
            if (capId == id)
            {
                return offset;
            }
        }

        return null;
    }

    /// <summary>Whether a capability header is expected at <paramref name="offset"/> (a pointer read so far leads there), though not read yet.</summary>
    public bool PointsToCapability(int offset) => pointers.Contains(offset) || (offset >= 0x100 && extendedPointers.Contains(offset));

    /// <summary>Takes a recorded read: its value is what the function answered.</summary>
    public void Read(int offset, int width, ulong value)
    {
        if (!InRange(offset, width))
        {
            return;
        }

        ulong ones = width >= 8 ? ulong.MaxValue : (1UL << (8 * width)) - 1;
        if (offset == 0 && width >= 2 && value == ones)
        {
            // No function answers here (any more): what was learnt belonged to a function that is gone.
            Forget();
            return;
        }

        if (value != ones)
        {
            Responded = true;
        }

        for (int k = 0; k < width; k++)
        {
            bytes[offset + k] = (byte)(value >> (8 * k));
            known[offset + k] = true;
            if (IsReadOnly(offset + k))
            {
                readOnlyRead[offset + k] = true;
            }
        }

        Walk(offset, width);
    }

    /// <summary>Takes a recorded write: the bytes hold the written value until a read says otherwise.</summary>
    public void Write(int offset, int width, ulong value)
    {
        if (!InRange(offset, width))
        {
            return;
        }

        for (int k = 0; k < width; k++)
        {
            if (!readOnlyRead[offset + k])
            {
                bytes[offset + k] = (byte)(value >> (8 * k));
                known[offset + k] = true;
            }
        }
    }

    /// <summary>The last known value of <paramref name="size"/> bytes at <paramref name="offset"/>, or null if a byte is unknown.</summary>
    public uint? Get(int offset, int size)
    {
        if (!InRange(offset, size) || size > 4)
        {
            return null;
        }

        uint value = 0;
        for (int k = 0; k < size; k++)
        {
            if (!known[offset + k])
            {
                return null;
            }

            value |= (uint)bytes[offset + k] << (8 * k);
        }

        return value;
    }

    /// <summary>
    /// Whether a read of <paramref name="width"/> bytes at <paramref name="offset"/> could have returned
    /// <paramref name="value"/>: every byte it would cover that was read before from a read-only register must agree.
    /// </summary>
    public bool ConsistentRead(int offset, int width, ulong value)
    {
        if (!InRange(offset, width))
        {
            return true;
        }

        for (int k = 0; k < width; k++)
        {
            if (readOnlyRead[offset + k] && bytes[offset + k] != (byte)(value >> (8 * k)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Header Type bits 6:0 when read (0 endpoint, 1 bridge), else null.</summary>
    public int? HeaderLayout => Get(0x0E, 1) is uint h ? (int)(h & 0x7F) : null;

    /// <summary>Vendor ID and Device ID when read, else null.</summary>
    public uint? Ids => Get(0x00, 4);

    /// <summary>Class code (base, sub, programming interface) when read, else null.</summary>
    public uint? ClassCode => Get(0x09, 3);

    /// <summary>Secondary Bus Number of a Type 1 function, when known.</summary>
    public byte? SecondaryBus => HeaderLayout == 1 && Get(0x19, 1) is uint s ? (byte)s : null;

    /// <summary>Subordinate Bus Number of a Type 1 function, when known.</summary>
    public byte? SubordinateBus => HeaderLayout == 1 && Get(0x1A, 1) is uint s ? (byte)s : null;

    /// <summary>Device/Port Type of the PCI Express Capabilities register when read (§7.5.3.2), else null.</summary>
    public int? PortType => Capability(PciExpressId) is int p && Get(p + 2, 2) is uint flags ? (int)((flags >> 4) & 0xF) : null;

    private void Forget()
    {
        Array.Clear(bytes);
        Array.Clear(known);
        Array.Clear(readOnlyRead);
        capabilities.Clear();
        extended.Clear();
        pointers.Clear();
        extendedPointers.Clear();
        extendedPointers.Add(0x100);
        capabilityPointer = -1;
        Responded = false;
    }

    private static bool InRange(int offset, int width) => offset >= 0 && width > 0 && offset + width <= Size;

    /// <summary>Registers whose bytes never change: IDs, class, header type, capability pointers and headers, capability registers.</summary>
    private bool IsReadOnly(int offset)
    {
        if (offset is <= 0x03 or (>= 0x08 and <= 0x0B) or 0x0E or 0x34)
        {
            return true;
        }

        foreach (var (cap, id) in capabilities)
        {
            int rel = offset - cap;
            if (rel is 0 or 1)
            {
                return true;
            }

            // PCI Express Capabilities, Device, Link and Slot Capabilities (§7.5.3.2, .3, .6, .9).
            if (id == PciExpressId && rel is 2 or 3 or (>= 0x04 and <= 0x07) or (>= 0x0C and <= 0x0F) or (>= 0x14 and <= 0x17))
            {
                return true;
            }
        }

        foreach (var cap in extended.Keys)
        {
            if (offset - cap is >= 0 and <= 3)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Follows the capability lists through the bytes this read covered.</summary>
    private void Walk(int offset, int width)
    {
        int end = offset + width;
        if (offset <= 0x34 && end > 0x34)
        {
            capabilityPointer = bytes[0x34] & 0xFC;
            if (capabilityPointer >= 0x40)
            {
                pointers.Add(capabilityPointer);
            }
        }

        // A header may be read as a word (ID and next) or as two bytes; follow until nothing new is learnt.
        bool learnt = true;
        while (learnt)
        {
            learnt = false;
            foreach (int p in pointers.ToList())
            {
                if (p >= offset && p < end && !capabilities.ContainsKey(p))
                {
                    capabilities[p] = bytes[p];
                    learnt = true;
                }

                if (capabilities.ContainsKey(p) && p + 1 >= offset && p + 1 < end)
                {
                    int next = bytes[p + 1] & 0xFC;
                    if (next >= 0x40 && pointers.Add(next))
                    {
                        learnt = true;
                    }
                }
            }

            foreach (int p in extendedPointers.ToList())
            {
                if (p < offset || p + 4 > end || extended.ContainsKey(p))
                {
                    continue;
                }

                uint header = Get(p, 4) ?? 0;
                if (header is 0 or 0xFFFFFFFF)
                {
                    continue;
                }

                extended[p] = (ushort)header;
                int next = (int)(header >> 20) & 0xFFC;
                if (next >= 0x100 && !extendedPointers.Contains(next))
                {
                    extendedPointers.Add(next);
                }

                learnt = true;
            }
        }
    }
}
