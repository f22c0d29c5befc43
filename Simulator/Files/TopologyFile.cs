using PcieSim.Topology.Language;

namespace PcieSim.Files;

/// <summary>Reads a topology file (OpenVMM flags, any number per line, <c>#</c> comments).</summary>
public static class TopologyFile
{
    /// <exception cref="InputException">The file is missing or its flags are invalid.</exception>
    public static TopologySpec Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string name = Path.GetFileName(path);
        if (!File.Exists(path))
        {
            throw new InputException(name, 0, 0, $"topology file not found: {path}");
        }

        return TopologyParser.Parse(File.ReadAllText(path), name);
    }
}
