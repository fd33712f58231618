"""The bytes a widget's whole state takes on the wire, measured independently of the package's estimate:
the comm message ipywidgets sends, packed into frames by jupyter_client's Session as the kernel packs it."""

from jupyter_client.session import Session


def wire_bytes(widget) -> int:
    sent = []
    comm = widget.comm
    comm.publish_msg = lambda msg_type, data=None, metadata=None, buffers=None, **keys: sent.append((data, buffers))
    try:
        widget.send_state()
    finally:
        del comm.publish_msg
    (data, buffers), = sent
    session = Session(key=b"0" * 32)
    msg = session.msg("comm_msg", {"data": data, "comm_id": comm.comm_id},
                      parent=session.msg_header("execute_request"), metadata={})
    frames = session.serialize(msg, ident=[b"comm-" + comm.comm_id.encode()])
    return sum(len(f) for f in frames) + sum(memoryview(b).nbytes for b in buffers or [])
