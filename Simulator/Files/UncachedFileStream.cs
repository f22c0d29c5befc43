using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PcieSim.Files;

/// <summary>
/// A write-only, sequential file stream that bypasses the operating system's page cache where it can (Linux
/// <c>O_DIRECT</c>): whole 4 KiB blocks go from aligned buffers straight to the device, and the last partial block
/// is written through the cache when the stream is disposed. Elsewhere, or on a file system that refuses direct I/O,
/// it writes through the cache like any file. A full buffer is written by a thread of the stream's own while the
/// caller fills a second one; a write that fails there is thrown by the caller's next Write, Flush or Dispose.
/// </summary>
/// <remarks>
/// Why: a replay of ten million records writes a snapshot of over a gigabyte that the tool never reads back. Through
/// the cache, every page of it must first be allocated and zeroed by the kernel, which on a virtual machine whose free
/// memory is handed back to the host costs seconds of system time (measured: <c>dd</c> of 1.3 GB took 3.8 s of system
/// time buffered, 0.11 s with <c>oflag=direct</c>). A direct write blocks until the device has the data (about
/// 0.7 ms a MiB here, 0.9 s over such a snapshot), hence the second buffer and the writer thread.
/// <see cref="Flush"/> writes only whole blocks: the tail waits for <see cref="Dispose(bool)"/>, so the file is
/// complete once the stream is disposed, not before.
/// </remarks>
public sealed class UncachedFileStream : Stream, IBufferWriter<byte>
{
    /// <summary>Direct I/O wants block-aligned memory, file offsets and lengths; 4 KiB covers 512-byte and 4K devices.</summary>
    private const int Alignment = 4096;

    private const int FcntlGetFlags = 3;
    private const int FcntlSetFlags = 4;

    private readonly SafeFileHandle handle;

    /// <summary>For a special file, the stream its bytes go through in order (it has no offsets); null for a file.</summary>
    private readonly FileStream? inOrder;
    private readonly byte[] storage;

    /// <summary>Where the first of the two aligned halves of <see cref="storage"/> starts: one fills while the other is written.</summary>
    private readonly int start;
    private readonly int capacity;

    /// <summary>The half being filled, 0 or 1.</summary>
    private int filling;
    private int used;

    /// <summary>File offset of the first byte not yet handed to the writer.</summary>
    private long fileOffset;
    private bool direct;
    private bool disposed;

    // Write-behind: a full half goes to a writer thread, so formatting goes on while the device writes.
    private readonly SemaphoreSlim handedOver = new(0);
    private readonly SemaphoreSlim writerIdle = new(1);
    private Thread? writer;
    private int pendingStart;
    private int pendingLength;
    private long pendingOffset;
    private bool stopping;
    private ExceptionDispatchInfo? failure;

    /// <summary>Creates (or truncates) <paramref name="path"/> for writing.</summary>
    /// <param name="bufferSize">Bytes gathered before a write, rounded up to whole 4 KiB blocks, two at least.</param>
    public UncachedFileStream(string path, int bufferSize = 1 << 20)
        : this(path, bufferSize, tryDirect: true)
    {
    }

    /// <param name="tryDirect">False: always through the cache (tests cover both ways).</param>
    internal UncachedFileStream(string path, int bufferSize, bool tryDirect)
        : this(path, bufferSize, tryDirect, special: false)
    {
    }

    private UncachedFileStream(string path, int bufferSize, bool tryDirect, bool special)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferSize);
        if (special)
        {
            // A device, FIFO or socket has no file offsets to write at and nothing to truncate: bytes go in order.
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            inOrder = new FileStream(handle, FileAccess.Write, bufferSize: 0);
        }
        else
        {
            handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None);
        }

        // Two blocks at least: after a hand-over up to a block less a byte stays, and GetSpan still promises a block.
        capacity = Math.Max(2 * Alignment, (bufferSize + Alignment - 1) / Alignment * Alignment);
        // A pinned array never moves, so aligned windows into it stay aligned for the stream's life.
        storage = GC.AllocateUninitializedArray<byte>(2 * capacity + Alignment, pinned: true);
        start = AlignedStart(storage);
        direct = tryDirect && TrySetDirect(handle, true);
    }

    /// <summary>
    /// Opens an existing device, FIFO or socket (<see cref="FileKind.Special"/>: <c>/dev/null</c>, a pipe) for writing:
    /// the same buffering and write-behind, the bytes written in order through the cache.
    /// </summary>
    public static UncachedFileStream OpenSpecial(string path) => new(path, 1 << 20, tryDirect: false, special: true);

    /// <summary>Whether whole blocks currently bypass the page cache.</summary>
    public bool IsDirect => direct;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !disposed;

    public override long Length => fileOffset + used;

    public override long Position
    {
        get => fileOffset + used;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        while (!buffer.IsEmpty)
        {
            int n = Math.Min(buffer.Length, capacity - used);
            buffer[..n].CopyTo(storage.AsSpan(Half(filling) + used, n));
            used += n;
            buffer = buffer[n..];
            if (used == capacity)
            {
                WriteWholeBlocks(behind: true);
            }
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    /// <summary>
    /// The free part of the buffer being filled, at least <paramref name="sizeHint"/> bytes (at most the buffer's size
    /// less a block, plus one): a caller that encodes straight into it saves the copy <see cref="Write(ReadOnlySpan{byte})"/>
    /// makes. What it fills counts once <see cref="Advance"/> is told.
    /// </summary>
    public Span<byte> GetSpan(int sizeHint = 0) => storage.AsSpan(Free(sizeHint));

    /// <inheritdoc cref="GetSpan"/>
    public Memory<byte> GetMemory(int sizeHint = 0) => storage.AsMemory(Free(sizeHint));

    /// <summary>Counts <paramref name="count"/> bytes of the span last handed out as written.</summary>
    public void Advance(int count)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, capacity - used);
        used += count;
        if (used == capacity)
        {
            WriteWholeBlocks(behind: true);
        }
    }

    /// <summary>The free range of the filling half, after handing its whole blocks over when less than the hint is free.</summary>
    private Range Free(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        // After a hand-over less than a block is left, so capacity − 4 KiB + 1 bytes can always be promised.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sizeHint, capacity - Alignment + 1);
        if (capacity - used < Math.Max(sizeHint, 1))
        {
            WriteWholeBlocks(behind: true);
        }

        int from = Half(filling) + used;
        return from..(Half(filling) + capacity);
    }

    /// <summary>Writes the whole blocks gathered so far and waits for them; a partial last block stays until disposal.</summary>
    public override void Flush()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        WriteWholeBlocks(behind: false);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        try
        {
            if (disposing)
            {
                WriteWholeBlocks(behind: false);
                if (used > 0)
                {
                    // The tail is shorter than a block: direct I/O cannot write it, the cache can.
                    if (direct)
                    {
                        TrySetDirect(handle, false);
                        direct = false;
                    }

                    WriteAt(storage.AsSpan(Half(filling), used), fileOffset);
                    fileOffset += used;
                    used = 0;
                }
            }
        }
        finally
        {
            StopWriter();
            inOrder?.Dispose();
            handle.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// Writes the whole blocks of the filling half and goes on filling the other half, to which the partial block left
    /// over moves. Behind: the writer thread (started on first use) writes them while the caller goes on. Otherwise
    /// the caller writes them and returns when they are written, as Flush and Dispose need, so a file that never
    /// fills a buffer never starts the thread.
    /// </summary>
    private void WriteWholeBlocks(bool behind)
    {
        int whole = used / Alignment * Alignment;
        WaitForWriter();
        if (whole == 0)
        {
            writerIdle.Release();
            return;
        }

        if (behind)
        {
            pendingStart = Half(filling);
            pendingLength = whole;
            pendingOffset = fileOffset;
            if (writer is null)
            {
                writer = new Thread(WriteBehind) { IsBackground = true, Name = "pciesim file writer" };
                writer.Start();
            }

            handedOver.Release();
        }
        else
        {
            try
            {
                WriteAt(storage.AsSpan(Half(filling), whole), fileOffset);
            }
            finally
            {
                writerIdle.Release();
            }
        }

        fileOffset += whole;
        int rest = used - whole;
        int next = 1 - filling;
        storage.AsSpan(Half(filling) + whole, rest).CopyTo(storage.AsSpan(Half(next)));
        filling = next;
        used = rest;
    }

    private int Half(int half) => start + (half * capacity);

    /// <summary>Waits until the writer thread is idle (taking its idle permit) and rethrows a write that failed.</summary>
    private void WaitForWriter()
    {
        writerIdle.Wait();
        if (failure is { } failed)
        {
            writerIdle.Release();
            failed.Throw();
        }
    }

    private void StopWriter()
    {
        if (writer is null)
        {
            return;
        }

        stopping = true;
        handedOver.Release();
        writer.Join();
        writer = null;
    }

    private void WriteBehind()
    {
        while (true)
        {
            handedOver.Wait();
            if (stopping)
            {
                return;
            }

            try
            {
                WriteAt(storage.AsSpan(pendingStart, pendingLength), pendingOffset);
            }
            catch (Exception e)
            {
                // Reported to the stream's user by its next Write, Flush or Dispose.
                failure = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                writerIdle.Release();
            }
        }
    }

    private void WriteAt(ReadOnlySpan<byte> bytes, long offset)
    {
        if (inOrder is not null)
        {
            // Halves are handed to the writer one at a time, in file order.
            inOrder.Write(bytes);
            return;
        }

        try
        {
            RandomAccess.Write(handle, bytes, offset);
        }
        catch (IOException) when (direct)
        {
            // A file system may accept the flag and still refuse the write (some network and FUSE file systems):
            // from here on, write through the cache. RandomAccess.Write writes all or throws, so nothing was
            // half-written past offset that this retry would not overwrite.
            TrySetDirect(handle, false);
            direct = false;
            RandomAccess.Write(handle, bytes, offset);
        }
    }

    private static int AlignedStart(byte[] array)
    {
        var pin = GCHandle.Alloc(array, GCHandleType.Pinned);
        try
        {
            long address = pin.AddrOfPinnedObject().ToInt64();
            return (int)((Alignment - (address % Alignment)) % Alignment);
        }
        finally
        {
            pin.Free();
        }
    }

    /// <summary>Turns <c>O_DIRECT</c> on or off; false when the platform or the file system does not support it.</summary>
    private static bool TrySetDirect(SafeFileHandle file, bool on)
    {
        int flag = DirectFlag();
        if (flag == 0)
        {
            return false;
        }

        int fd = (int)file.DangerousGetHandle();
        int flags = Fcntl(fd, FcntlGetFlags, 0);
        if (flags < 0)
        {
            return false;
        }

        return Fcntl(fd, FcntlSetFlags, on ? flags | flag : flags & ~flag) == 0 && on;
    }

    /// <summary>Linux's <c>O_DIRECT</c>, whose value differs between architectures; 0 where unknown.</summary>
    private static int DirectFlag()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        return RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 or Architecture.X86 => 0x4000,
            Architecture.Arm64 or Architecture.Arm => 0x10000,
            _ => 0,
        };
    }

    [DllImport("libc", EntryPoint = "fcntl")]
    private static extern int Fcntl(int fd, int command, int argument);
}
