using PcieSim.Conformance.Hotplug;

namespace PcieSim.Conformance.Interrupts;

/// <summary>
/// OpenVMM <c>msix.rs</c> and <c>msi_cap.rs</c> tests not covered elsewhere, by name. Not mirrored:
/// <c>msi_32bit_check</c> and <c>test_msi_save_restore_32bit_with_masking</c> (every MSI capability the topology
/// builds is 64-bit, as OpenVMM's ports, IOMMU and our generic endpoint have it).
/// </summary>
public partial class PlatformMsiTests
{
    /// <summary>A message raised on a masked vector shows as pending in the PBA until the vector is unmasked.</summary>
    [Test]
    public void route_consume_pending_on_pba_read()
    {
        var (b, ep) = Msix();
        b.Write(ep, ep.Msix!.Offset + 2, 2, 0x8000);
        ProgramVector(ep, 0, Bench.ItsTranslater, 0x20, masked: true);
        Assert.That(b.Step(() => b.Model.Raise(ep, 0)), Is.Empty);
        Assert.That(ep.ReadPba(0) & 1, Is.EqualTo(1u), "pending bit of vector 0");
        Assert.That(ep.ReadPba(0) & 1, Is.EqualTo(1u), "reading the PBA does not clear it");
        var delivered = b.Step(() =>
        {
            ep.WriteMsixTable(0, 3, 0, uint.MaxValue);
            b.Model.DeliverLatched(ep);
        });
        Assert.That(delivered.Single().Message.Data, Is.EqualTo(0x20u));
        Assert.That(ep.ReadPba(0), Is.Zero);
    }

    /// <summary>MME written above MMC is clamped (msi_cap.rs: MME 3 with MMC 1 reads back 1).</summary>
    [Test]
    public void test_msi_save_restore_mme_clamping()
    {
        var (b, ep) = Generic("--gic-msi its", "msi=2");
        int msi = ep.Msi!.Offset;
        b.Write(ep, msi + 2, 2, 0x0031);
        Assert.That((b.Read(ep, msi + 2, 2) >> 4) & 7, Is.EqualTo(1u));
        var saved = ep.Config.Save();
        ep.Reset();
        ep.Config.Restore(saved);
        Assert.That((b.Read(ep, msi + 2, 2) >> 4) & 7, Is.EqualTo(1u), "the clamped value is what is saved and restored");
    }
}
