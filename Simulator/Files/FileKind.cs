using System.Runtime.InteropServices;

namespace PcieSim.Files;

/// <summary>What an output path names, as far as writing it goes.</summary>
public enum FileKind
{
    /// <summary>Nothing yet: the file is created.</summary>
    Missing,

    /// <summary>A regular file (or a link to one): replaced whole.</summary>
    Regular,

    /// <summary>
    /// A character or block device (<c>/dev/null</c>), a FIFO, a socket or a terminal, directly or through a link
    /// (<c>/dev/stdout</c>, <c>/dev/fd/63</c> from a shell's process substitution): written in place, as a stream.
    /// </summary>
    Special,
}

/// <summary>Tells regular files from devices, FIFOs and sockets (<see cref="FileKind"/>).</summary>
public static class FileKinds
{
    // The runtime's own portable stat (libSystem.Native, beside the framework on every Unix .NET runs on): its
    // FileStatus starts with two 32-bit fields, Flags and Mode, whatever the platform's struct stat looks like.
    private const int ModeOffset = 4;
    private const int TypeMask = 0xF000;
    private const int FifoType = 0x1000;
    private const int CharacterDeviceType = 0x2000;
    private const int BlockDeviceType = 0x6000;
    private const int SocketType = 0xC000;

    /// <summary>
    /// The kind of <paramref name="path"/>, links followed. .NET reports a device or a FIFO as a normal file, so
    /// this asks the runtime's stat; where that is not available (Windows) an existing file counts as regular.
    /// </summary>
    public static FileKind Of(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!OperatingSystem.IsWindows())
        {
            // FileStatus is about 130 bytes in today's runtimes; room to spare for fields added later.
            byte[] status = new byte[512];
            int result;
            try
            {
                result = Stat(path, status);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return Fallback(path);
            }

            if (result != 0)
            {
                // Most often it does not exist; if it cannot be looked at, creating it reports why.
                return FileKind.Missing;
            }

            // A directory counts as regular: renaming onto it fails with the runtime's own message, as before.
            int type = BitConverter.ToInt32(status, ModeOffset) & TypeMask;
            return type is FifoType or CharacterDeviceType or BlockDeviceType or SocketType ? FileKind.Special : FileKind.Regular;
        }

        return Fallback(path);
    }

    private static FileKind Fallback(string path) => File.Exists(path) ? FileKind.Regular : FileKind.Missing;

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat")]
    private static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] output);
}
