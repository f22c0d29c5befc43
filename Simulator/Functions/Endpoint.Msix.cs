using PcieSim.Topology;

namespace PcieSim.Functions;

/// <summary>MSI-X table and PBA state (reference 3.5): 16-byte entries, vector control resets to 1 (masked).</summary>
public sealed partial class Endpoint
{
    private readonly uint[] msixTable;
    private readonly bool[] msixPending;

    /// <summary>MSI-X Enable (Message Control bit 15).</summary>
    public bool MsixEnabled => Msix is { } msix && (ReadDword(msix.Offset) & 0x8000_0000) != 0;

    /// <summary>One DWORD of the MSI-X table: entry <paramref name="vector"/>, DWORD <paramref name="dword"/> (0 address low, 1 high, 2 data, 3 vector control).</summary>
    public uint ReadMsixTable(int vector, int dword) => msixTable[(vector * 4) + dword];

    /// <summary>Writes the enabled lanes of one MSI-X table DWORD.</summary>
    internal void WriteMsixTable(int vector, int dword, uint data, uint laneMask)
    {
        ref uint slot = ref msixTable[(vector * 4) + dword];
        slot = (slot & ~laneMask) | (data & laneMask);
    }

    /// <summary>Whether vector <paramref name="vector"/>'s Mask bit is set.</summary>
    public bool MsixVectorMasked(int vector) => (msixTable[(vector * 4) + 3] & 1) != 0;

    /// <summary>The 64-bit message address of an MSI-X vector.</summary>
    public ulong MsixAddress(int vector) => ((ulong)msixTable[(vector * 4) + 1] << 32) | msixTable[vector * 4];

    public uint MsixData(int vector) => msixTable[(vector * 4) + 2];

    public bool MsixPending(int vector) => msixPending[vector];

    /// <inheritdoc/>
    public override bool HasLatchedMessages => base.HasLatchedMessages || Array.IndexOf(msixPending, true) >= 0;

    internal void SetMsixPending(int vector, bool pending) => msixPending[vector] = pending;

    /// <summary>A PBA DWORD: bit N set while vector (32 × index + N) is pending.</summary>
    public uint ReadPba(int index)
    {
        uint value = 0;
        for (int bit = 0; bit < 32; bit++)
        {
            int vector = (index * 32) + bit;
            if (vector < msixPending.Length && msixPending[vector])
            {
                value |= 1u << bit;
            }
        }

        return value;
    }

    /// <summary>The MSI-X table and pending bits, one entry per vector (save state; OpenVMM saves the same per vector).</summary>
    internal MsixVectorState[] SaveMsix()
    {
        var vectors = new MsixVectorState[msixPending.Length];
        for (int vector = 0; vector < vectors.Length; vector++)
        {
            vectors[vector] = new MsixVectorState(MsixAddress(vector), MsixData(vector), msixTable[(vector * 4) + 3], msixPending[vector]);
        }

        return vectors;
    }

    /// <summary>Restores what <see cref="SaveMsix"/> saved; the caller has checked the vector count.</summary>
    internal void RestoreMsix(IReadOnlyList<MsixVectorState> vectors)
    {
        for (int vector = 0; vector < msixPending.Length; vector++)
        {
            var saved = vectors[vector];
            msixTable[vector * 4] = (uint)saved.Address;
            msixTable[(vector * 4) + 1] = (uint)(saved.Address >> 32);
            msixTable[(vector * 4) + 2] = saved.Data;
            msixTable[(vector * 4) + 3] = saved.VectorControl;
            msixPending[vector] = saved.Pending;
        }
    }

    private void ResetMsix()
    {
        Array.Clear(msixTable);
        Array.Clear(msixPending);
        for (int vector = 0; vector < msixPending.Length; vector++)
        {
            msixTable[(vector * 4) + 3] = 1;
        }
    }
}
