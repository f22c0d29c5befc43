using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace PcieSim.Record;

/// <summary>
/// The recorder's guest: a gzip-compressed cpio archive in the kernel's <c>newc</c> format
/// (Documentation/driver-api/early-userspace/buffer-format.rst) holding busybox, an <c>/init</c> script and a
/// console device node. Every timestamp and owner is 0, so the same busybox gives the same bytes.
/// </summary>
public static class Initramfs
{
    /// <summary>What the guest prints once the kernel has probed every port, before any hotplug.</summary>
    public const string ReadyMarker = "pciesim-guest: ready";

    /// <summary>What the guest prints each time the number of PCI functions it sees changes.</summary>
    public const string ChangeMarker = "pciesim-guest: change";

    /// <summary>What the guest prints before it powers off.</summary>
    public const string DoneMarker = "pciesim-guest: done";

    /// <summary>
    /// The <c>/init</c> script: mounts proc and sysfs, waits until the number of PCI functions has not changed for a
    /// second (pciehp has probed every port and brought up what was present at boot), prints
    /// <see cref="ReadyMarker"/>, then prints <see cref="ChangeMarker"/> each time the number of functions under
    /// /sys/bus/pci/devices changes, until it has seen <c>pciesim.changes=N</c> (kernel command line) changes; then
    /// prints the kernel's pciehp messages and powers off. Listing sysfs makes no configuration access.
    /// </summary>
    public static string InitScript { get; } = string.Join('\n',
        "#!/bin/busybox sh",
        "/bin/busybox --install -s /bin",
        "export PATH=/bin",
        "mount -t proc proc /proc",
        "mount -t sysfs sysfs /sys",
        "want=$(sed -n 's/.*pciesim.changes=\\([0-9]*\\).*/\\1/p' /proc/cmdline)",
        "count() { ls /sys/bus/pci/devices | wc -l; }",
        "n=$(count); stable=0",
        "while [ \"$stable\" -lt 10 ]; do sleep 0.1; m=$(count); if [ \"$m\" = \"$n\" ]; then stable=$((stable+1)); else n=$m; stable=0; fi; done",
        "echo \"" + ReadyMarker + " functions=$n\"",
        "i=0",
        "while [ \"$i\" -lt \"${want:-0}\" ]; do",
        "  m=$(count)",
        "  if [ \"$m\" != \"$n\" ]; then n=$m; i=$((i+1)); echo \"" + ChangeMarker + " $i functions=$n\"; fi",
        "  sleep 0.1",
        "done",
        "sleep 1",
        "dmesg | grep -i pciehp",
        "echo \"" + DoneMarker + "\"",
        "poweroff -f",
        string.Empty);

    /// <summary>Writes the archive to <paramref name="output"/>: directories, <c>/bin/busybox</c>, <c>/init</c>, <c>/dev/console</c>.</summary>
    public static void Write(Stream output, byte[] busybox)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(busybox);
        using var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true);
        var cpio = new CpioWriter(gzip);
        foreach (string directory in (string[])["bin", "dev", "proc", "sys"])
        {
            cpio.Entry(directory, 0x41ED, []);
        }

        cpio.Entry("dev/console", 0x2180, [], rdevMajor: 5, rdevMinor: 1);
        cpio.Entry("bin/busybox", 0x81ED, busybox);
        cpio.Entry("init", 0x81ED, Encoding.ASCII.GetBytes(InitScript));
        cpio.Entry("TRAILER!!!", 0, []);
    }

    /// <summary>The newc writer: a 110-byte ASCII header per entry, name and data each padded to 4 bytes.</summary>
    private sealed class CpioWriter(Stream output)
    {
        private int inode = 1;

        public void Entry(string name, int mode, byte[] data, int rdevMajor = 0, int rdevMinor = 0)
        {
            byte[] nameBytes = Encoding.ASCII.GetBytes(name + "\0");
            bool trailer = name == "TRAILER!!!";
            var header = new StringBuilder("070701");
            foreach (int field in (int[])[trailer ? 0 : inode++, mode, 0, 0, (mode & 0xF000) == 0x4000 ? 2 : 1, 0, data.Length, 0, 0, rdevMajor, rdevMinor, nameBytes.Length, 0])
            {
                header.Append(field.ToString("x8", CultureInfo.InvariantCulture));
            }

            Write(Encoding.ASCII.GetBytes(header.ToString()));
            Write(nameBytes);
            Pad(110 + nameBytes.Length);
            Write(data);
            Pad(data.Length);
        }

        private void Write(byte[] bytes) => output.Write(bytes, 0, bytes.Length);

        private void Pad(int length)
        {
            int pad = (4 - (length % 4)) % 4;
            Write(new byte[pad]);
        }
    }
}
