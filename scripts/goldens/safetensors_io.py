"""Minimal safetensors writer/reader (the `safetensors` package is not available here).

Layout: 8-byte little-endian u64 N, then N bytes of JSON header
``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}``
padded with spaces so that 8 + N is a multiple of 8, then the tensors' raw little-endian bytes
(offsets are relative to the end of the header). Tensors are stored in insertion order.
"""

from __future__ import annotations

import json
import struct

import numpy as np

_DTYPES = {
    np.dtype('<f4'): 'F32',
    np.dtype('<f8'): 'F64',
    np.dtype('<i4'): 'I32',
    np.dtype('<i8'): 'I64',
}
_NP = {v: k for k, v in _DTYPES.items()}


def to_bytes(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> bytes:
    header: dict = {}
    if metadata:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        arr = np.asarray(arr)  # (np.ascontiguousarray would turn 0-d into 1-d)
        dt = arr.dtype.newbyteorder('<')
        if dt not in _DTYPES:
            raise TypeError(f'{name}: unsupported dtype {arr.dtype}')
        data = arr.astype(dt, copy=False).tobytes(order='C')  # C order regardless of strides
        header[name] = {
            'dtype': _DTYPES[dt],
            'shape': list(arr.shape),
            'data_offsets': [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(',', ':')).encode('utf-8')
    raw += b' ' * ((-(8 + len(raw))) % 8)
    return struct.pack('<Q', len(raw)) + raw + b''.join(blobs)


def save(path: str, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> None:
    with open(path, 'wb') as f:
        f.write(to_bytes(tensors, metadata))


def load(path: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    with open(path, 'rb') as f:
        buf = f.read()
    (n,) = struct.unpack('<Q', buf[:8])
    header = json.loads(buf[8 : 8 + n].decode('utf-8'))
    meta = header.pop('__metadata__', {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        begin, end = info['data_offsets']
        dt = _NP[info['dtype']]
        arr = np.frombuffer(buf[base + begin : base + end], dtype=dt).reshape(info['shape'])
        out[name] = arr.copy()
    return out, meta
