"""Streaming protocols of exec, attach, cp, logs and port-forward, as kubectl and the Python
client speak them.

- `wschannel`: the WebSocket channel protocols (`v5`/`v4`/`v1.channel.k8s.io`, base64 variants):
  channel byte, close channel 255, port prefixes.
- `spdy/`: SPDY/3.1 framing with zlib header compression (the SPDY/3 dictionary) and a session
  with streams, half-close, pings, GOAWAY and flow control.
- `upgrade`: HTTP/1.1 upgrades on aiohttp (raw connection after a 101, protocol negotiation, a
  WebSocket seen as a byte stream for the `SPDY/3.1+portforward.k8s.io` tunnel).
- `remotecommand`: the server side of exec/attach (WebSocket v5/v4/v1 and SPDY v5..v1).
- `portforward`: the server side of port-forward (SPDY pairs per request ID, raw or tunnelled;
  the Python client's WebSocket channels).
- `proxy`: one-connection HTTP/1.1 client to a backend, and the byte splice after a 101.

Used by the kubelet's server (serving side) and the API server (proxy side). May import:
`kubelite.machinery`, aiohttp.
"""
