#!/usr/bin/env pwsh
# Thin wrapper over documented commands; all logic lives in pciesim and the tests (README: "run-conformance.ps1").
# It exits with the first non-zero exit code; every summary line comes from the commands themselves.
param([string]$Filter = "*", [switch]$Accept)
$accept = if ($Accept) { @("--accept") } else { @() }
dotnet build PcieSim.sln -c Release
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
dotnet run --project Simulator -c Release --no-build -- verify --filter $Filter @accept
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
dotnet test PcieSim.sln -c Release --no-build --filter "TestCategory!=RealGuest"
exit $LASTEXITCODE
