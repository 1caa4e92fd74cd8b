"""Generated gRPC stubs (from protos/); never edited by hand."""
