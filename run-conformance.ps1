#!/usr/bin/env pwsh
# Thin wrapper over the documented commands; all logic lives in pciesim and the tests.
param([string]$Filter = "*", [switch]$Accept)
$ErrorActionPreference = "Stop"
dotnet build PcieSim.sln -c Release
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
$verifyArgs = @("run", "--project", "Simulator", "-c", "Release", "--no-build", "--", "verify", "--filter", $Filter)
if ($Accept) { $verifyArgs += "--accept" }
dotnet @verifyArgs
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
dotnet test PcieSim.sln -c Release --no-build --filter "TestCategory!=RealGuest"
exit $LASTEXITCODE
