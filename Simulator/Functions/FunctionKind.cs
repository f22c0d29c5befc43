namespace PcieSim.Functions;

/// <summary>The kinds of function the model emulates.</summary>
public enum FunctionKind : byte
{
    RootPort,
    UpstreamSwitchPort,
    DownstreamSwitchPort,
    Endpoint,
    RootComplexIntegratedEndpoint,
}
