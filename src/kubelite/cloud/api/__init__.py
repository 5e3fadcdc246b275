"""The front door: recognise each request's service and protocol, verify its SigV4 signature,
dispatch it, and answer in the protocol's envelope (`gateway`, `protocols`, `errors`)."""
