using PcieSim.Conformance.TestSupport;
using PcieSim.Topology;

namespace PcieSim.Conformance.Topology;

/// <summary>
/// Failed writes leave every function's configuration space unchanged (System.Formats.Cbor's idiom: a failed
/// operation must not leave partial state). Each case is one unroutable or invalid all-ones write.
/// </summary>
public sealed partial class RoutingTests
{
    private const string FailureTopology =
        "--pcie-root-complex rc0,end_bus=127 --amd-iommu rc0 --pcie-root-port rc0:rp0,hotplug --pcie-root-port rc0:rp1 --pcie-root-port rc0:rp2"
        + " --pcie-switch rp0:sw0,num_downstream_ports=2 --pcie-endpoint sw0-downstream-0:nvme0,template=nvme"
        + " --pcie-endpoint rp1:ep1,template=generic,bar0=4K,msi=4"
        + " --pcie-root-complex rc1,segment=1 --pcie-root-port rc1:rpx";

    /// <summary>Bus numbers: rp0 1..4 (USP 1, internal 2, DSP0 3..3, DSP1 unprogrammed), rp1 5..6, rp2 empty 7..7.</summary>
    private static PcieModel FailureModel()
    {
        var model = Topo.Build(FailureTopology);
        var rc = model.RootComplexes[0];
        model.Write(rc, 0, 8, 0x18, 4, 0x0004_0100);
        model.Write(rc, 1, 0, 0x18, 4, 0x0004_0201);
        model.Write(rc, 2, 0, 0x18, 4, 0x0003_0302);
        model.Write(rc, 0, 9, 0x18, 4, 0x0006_0500);
        model.Write(rc, 0, 10, 0x18, 4, 0x0007_0700);
        return model;
    }

    private static IEnumerable<TestCaseData> FailedWrites()
    {
        yield return Case("NoFunctionAtDevfn", 0, 0, 0x20, 0x04, 4, AccessStatus.Unroutable, RouteFailure.NoFunctionAtDevfn);
        yield return Case("RciepFunctionNotImplemented", 0, 0, 0x03, 0x04, 4, AccessStatus.Unroutable, RouteFailure.RciepFunctionNotImplemented);
        yield return Case("BusNotClaimed", 0, 100, 0, 0x04, 4, AccessStatus.Unroutable, RouteFailure.BusNotClaimed);
        yield return Case("PortEmpty", 0, 7, 0, 0x04, 4, AccessStatus.Unroutable, RouteFailure.PortEmpty);
        yield return Case("DeviceNotZeroWithoutAri", 0, 5, 0x08, 0x04, 4, AccessStatus.Unroutable, RouteFailure.DeviceNotZeroWithoutAri);
        yield return Case("SwitchDevfnNotZero", 0, 1, 0x01, 0x18, 4, AccessStatus.Unroutable, RouteFailure.SwitchDevfnNotZero);
        yield return Case("NoDownstreamPortAtDevfn", 0, 2, 0x05, 0x18, 4, AccessStatus.Unroutable, RouteFailure.NoDownstreamPortAtDevfn);
        yield return Case("NoDownstreamPortClaimsBus", 0, 4, 0, 0x04, 4, AccessStatus.Unroutable, RouteFailure.NoDownstreamPortClaimsBus);
        yield return Case("EndpointFunctionNotImplemented", 0, 5, 0x02, 0x04, 4, AccessStatus.Unroutable, RouteFailure.EndpointFunctionNotImplemented);
        yield return Case("EndpointIgnoresType1", 0, 6, 0, 0x04, 4, AccessStatus.Unroutable, RouteFailure.EndpointIgnoresType1);
        yield return Case("UnalignedWord", 0, 0, 0x08, 0x19, 2, AccessStatus.UnalignedAccess, RouteFailure.None);
        yield return Case("UnalignedDword", 0, 5, 0, 0x06, 4, AccessStatus.UnalignedAccess, RouteFailure.None);
        yield return Case("ThreeBytes", 0, 0, 0x08, 0x18, 3, AccessStatus.InvalidAccessSize, RouteFailure.None);
        yield return Case("EightBytes", 0, 3, 0, 0x10, 8, AccessStatus.InvalidAccessSize, RouteFailure.None);
        yield return Case("NoRootComplexBus", 0, 200, 0, 0x04, 4, AccessStatus.NoRootComplex, RouteFailure.None);
        yield return Case("NoRootComplexSegment", 7, 0, 0, 0x04, 4, AccessStatus.NoRootComplex, RouteFailure.None);
        yield return Case("OtherSegmentUnroutable", 1, 1, 0, 0x04, 4, AccessStatus.Unroutable, RouteFailure.BusNotClaimed);

        static TestCaseData Case(string name, int segment, int bus, int devfn, int register, int width, AccessStatus status, RouteFailure failure) =>
            new TestCaseData((ushort)segment, (byte)bus, (byte)devfn, register, width, status, failure).SetArgDisplayNames(name);
    }

    [TestCaseSource(nameof(FailedWrites))]
    public void failed_write_leaves_every_function_unchanged(ushort segment, byte bus, byte devfn, int register, int width, AccessStatus status, RouteFailure failure)
    {
        var model = FailureModel();
        long generation = model.RoutingGeneration;
        var before = Topo.Snapshot(model);
        var write = model.Access(segment, bus, devfn, register, width, isWrite: true, ulong.MaxValue);
        var read = model.Access(segment, bus, devfn, register, width, isWrite: false, 0);
        Assert.Multiple(() =>
        {
            Assert.That(write.Status, Is.EqualTo(status));
            Assert.That(write.Failure, Is.EqualTo(failure));
            Assert.That(write.Function, Is.Null);
            Assert.That(read.Status, Is.EqualTo(status));
            Assert.That(read.Value, Is.EqualTo(width >= 8 ? ulong.MaxValue : (1UL << (width * 8)) - 1), "reads all-ones of the width");
            Assert.That(model.RoutingGeneration, Is.EqualTo(generation), "routing untouched");
        });
        Topo.AssertUnchanged(before, Topo.Snapshot(model), "failed write");
    }

    [Test]
    public void failure_model_routes_what_it_should()
    {
        // Guards the failure cases above: the same topology does reach these functions.
        var model = FailureModel();
        Assert.Multiple(() =>
        {
            Assert.That(model.Access(0, 0, 0, 0, 4, false, 0).Value, Is.EqualTo(0x1451_1022UL));
            Assert.That(model.Access(0, 3, 0, 0, 4, false, 0).Value, Is.EqualTo(0x00A9_1414UL));
            Assert.That(model.Access(0, 5, 0, 0, 4, false, 0).Function, Is.SameAs(model.FindEndpoint("ep1")));
            Assert.That(model.Access(0, 2, 1, 0, 4, false, 0).Function, Is.SameAs(model.FindPort("sw0-downstream-1")));
            Assert.That(model.Access(1, 0, 0, 0, 4, false, 0).Function, Is.SameAs(model.FindPort("rpx")));
        });
    }
}
