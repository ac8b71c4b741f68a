"""LINE adapter: signature checks, event parsing, message rendering and the SDK client."""
