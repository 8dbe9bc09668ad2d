"""A small reader of ONNX model files: the graph's nodes and its constant tensors, as NumPy arrays.

The feed-forward style network's weights come as two int8-quantised ONNX files; converting them needs only the
initialisers, the DequantizeLinear nodes that turn them into floats and the order of the graph's operations.
That much of the protobuf wire format is read here (about a hundred lines) rather than pulling in the ``onnx``
package and its protobuf runtime for one conversion at fetch time. Nothing is executed: a file is only parsed.
Field numbers are those of ``onnx.proto`` (ModelProto.graph = 7, GraphProto.node = 1, .initializer = 5, ...).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# TensorProto.DataType -> NumPy dtype (the types the quantised graphs use)
_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
           10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def _fields(buf: memoryview):
    """(field number, wire type, value) of one protobuf message: ints for varints, memoryviews otherwise."""
    i, end = 0, len(buf)
    while i < end:
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        elif wire == 2:
            length, i = _varint(buf, i)
            value, i = buf[i:i + length], i + length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _packed_varints(value, wire: int) -> list[int]:
    if wire == 0:
        return [value]
    out, i = [], 0
    while i < len(value):
        v, i = _varint(value, i)
        out.append(v)
    return out


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _tensor(buf: memoryview) -> tuple[str, np.ndarray]:
    dims: list[int] = []
    dtype = name = raw = None
    floats: list[float] = []
    ints: list[int] = []
    for number, wire, value in _fields(buf):
        if number == 1:
            dims += _packed_varints(value, wire)
        elif number == 2:
            dtype = value
        elif number == 8:
            name = bytes(value).decode()
        elif number == 9:
            raw = bytes(value)
        elif number == 4:  # float_data (packed)
            floats += [value] if wire == 5 else list(struct.unpack(f"<{len(value) // 4}f", value))
        elif number in (5, 7):  # int32_data / int64_data (packed varints)
            ints += [_signed64(v) for v in _packed_varints(value, wire)]
    if dtype not in _DTYPES:
        raise ValueError(f"tensor {name!r} has an unsupported data type {dtype}")
    if raw is not None:
        array = np.frombuffer(raw, dtype=np.dtype(_DTYPES[dtype]).newbyteorder("<")).copy()
    elif floats:
        array = np.array([struct.unpack("<f", f)[0] if isinstance(f, memoryview) else f for f in floats],
                         dtype=_DTYPES[dtype])
    else:
        array = np.array(ints, dtype=np.int64).astype(_DTYPES[dtype])
    return name or "", array.reshape(dims)


@dataclass
class Node:
    op: str
    inputs: list[str]
    outputs: list[str]
    attributes: dict = field(default_factory=dict)


def _attribute(buf: memoryview) -> tuple[str, object]:
    name, value = "", None
    ints: list[int] = []
    for number, wire, v in _fields(buf):
        if number == 1:
            name = bytes(v).decode()
        elif number == 2:
            value = struct.unpack("<f", v)[0]
        elif number == 3:
            value = _signed64(v)
        elif number == 4:
            value = bytes(v).decode()
        elif number == 5:
            value = _tensor(v)[1]
        elif number == 8:
            ints += [_signed64(x) for x in _packed_varints(v, wire)]
    return name, (ints if value is None and ints else value)


def _node(buf: memoryview) -> Node:
    node = Node("", [], [])
    for number, _, value in _fields(buf):
        if number == 1:
            node.inputs.append(bytes(value).decode())
        elif number == 2:
            node.outputs.append(bytes(value).decode())
        elif number == 4:
            node.op = bytes(value).decode()
        elif number == 5:
            key, attr = _attribute(value)
            node.attributes[key] = attr
    return node


class OnnxGraph:
    """The nodes (in the file's order, which is a valid execution order) and initialisers of an ONNX model."""

    def __init__(self, path: str | Path):
        buf = memoryview(Path(path).read_bytes())
        graph = next((v for number, wire, v in _fields(buf) if number == 7 and wire == 2), None)
        if graph is None:
            raise ValueError(f"{Path(path).name} holds no ONNX graph")
        self.nodes: list[Node] = []
        self.initializers: dict[str, np.ndarray] = {}
        for number, _, value in _fields(graph):
            if number == 1:
                self.nodes.append(_node(value))
            elif number == 5:
                name, array = _tensor(value)
                self.initializers[name] = array
        self.producer = {out: node for node in self.nodes for out in node.outputs}

    def ops(self, op: str) -> list[Node]:
        return [n for n in self.nodes if n.op == op]

    def constant(self, name: str) -> np.ndarray:
        """A constant input as float32: an initialiser, or a DequantizeLinear of initialisers computed exactly
        as the operator defines it, ``(x - zero_point) * scale``, per tensor or along ``axis`` (default 1)."""
        if name in self.initializers:
            return self.initializers[name].astype(np.float32)
        node = self.producer.get(name)
        if node is None or node.op != "DequantizeLinear":
            raise ValueError(f"{name!r} is not a constant of the graph")
        x = self.initializers[node.inputs[0]]
        scale = self.initializers[node.inputs[1]].astype(np.float32)
        zero = (self.initializers[node.inputs[2]] if len(node.inputs) > 2 and node.inputs[2]
                else np.zeros_like(scale, dtype=x.dtype))
        if scale.size > 1:  # per axis
            shape = [1] * x.ndim
            shape[node.attributes.get("axis", 1) % x.ndim] = -1
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        else:
            scale, zero = scale.reshape(()), zero.reshape(())
        return ((x.astype(np.int64) - zero.astype(np.int64)).astype(np.float32) * scale).astype(np.float32)
