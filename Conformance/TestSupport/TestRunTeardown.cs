using PcieSim.Conformance.TestSupport;

/// <summary>
/// Runs once around the whole test assembly (an NUnit set-up fixture outside any namespace): after the last test it
/// deletes the run's temporary folder, so a test run leaves nothing in the system temporary folder.
/// </summary>
[SetUpFixture]
public sealed class TestRunTeardown
{
    [OneTimeTearDown]
    public void DeleteTemporaryFiles() => TestTemp.DeleteRun();
}
