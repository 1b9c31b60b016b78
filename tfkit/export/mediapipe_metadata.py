"""MediaPipe Tasks ``TextClassifier`` metadata for a BERT TFLite file, written without MediaPipe.

MediaPipe Tasks (Android, iOS, Web, Python) tokenises text in its own C++ code
when the model file says how: a TFLite metadata flatbuffer (``metadata_schema.fbs``
of MediaPipe / tflite-support, file identifier ``M001``) in a model buffer that the
model's ``metadata`` entry ``"TFLITE_METADATA"`` names, and the files it refers to
(the WordPiece vocabulary, the label names) packed as a zip archive appended to the
flatbuffer. :func:`with_text_classifier_metadata` writes what MediaPipe's
``text_classifier.MetadataWriter.create_for_bert_model(...).populate()`` writes,
field for field, in pure Python (``flatbuffers`` and the TFLite schema module of
``ai_edge_litert``): MediaPipe itself cannot be a tfkit dependency (its ``absl-py``
pin conflicts with TF-MOT's) and its writer does not import in 1.2.x.

Examples:
    >>> flatbuffer = Path("model.tflite").read_bytes()                          # doctest: +SKIP
    >>> tagged = with_text_classifier_metadata(flatbuffer, vocab=vocab, labels=["neg", "pos"],
    ...                                        name="TextClassifier")          # doctest: +SKIP
    >>> read_metadata(tagged)["labels"]                                         # doctest: +SKIP
    ['neg', 'pos']
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any, Sequence

import flatbuffers
import numpy as np
from flatbuffers.table import Table

from tfkit.errors import MetadataError
from tfkit.export.runtime import input_name

METADATA_FIELD = "TFLITE_METADATA"
VOCAB_FILE = "vocab.txt"
LABEL_FILE = "labels.txt"
# MediaPipe's GetMinimumMetadataParserVersion (tasks/cc/metadata/metadata_version.cc) for what is written
# here: SubGraphMetadata.input_process_units and BertTokenizerOptions arrived in 1.1.0; nothing newer is used.
MIN_PARSER_VERSION = "1.1.0"

_TFLITE_ID, _METADATA_ID = b"TFL3", b"M001"
# Enum and union values of metadata_schema.fbs.
_TENSOR_AXIS_LABELS, _VOCABULARY = 2, 5
_FEATURE_PROPERTIES = 1                     # ContentProperties
_BERT_TOKENIZER_OPTIONS = 4                 # ProcessUnitOptions
_FLOAT32, _INT32, _UINT8 = 0, 2, 3             # TFLite TensorType

# The names and descriptions MediaPipe's writer gives (metadata_info.py, metadata_writer.py).
_INPUTS = {"ids": "Tokenized ids of the input text.",
           "mask": "Mask with 1 for real tokens and 0 for padding tokens.",
           "segment_ids": "0 for the first sequence, 1 for the second sequence if exists."}
_OUTPUT_NAME, _OUTPUT_DESCRIPTION = "score", "Score of the labels respectively."
_VOCAB_DESCRIPTION = "Vocabulary file to convert natural language words to embedding vectors."
_LABEL_DESCRIPTION = "Labels for categories that the model can recognize."
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same model gives the same bytes


@dataclass(frozen=True)
class _Byte:
    value: int


@dataclass(frozen=True)
class _Floats:
    values: tuple[float, ...]


@dataclass(frozen=True)
class _Table:
    """A flatbuffer table as its field values by slot (None: absent), packed as flatc's object API does."""

    fields: tuple[Any, ...]


def _pack(builder: flatbuffers.Builder, table: _Table) -> int:
    offsets: list[int | None] = []
    for value in table.fields:  # children first, in slot order, as the generated ``Pack`` methods do
        if isinstance(value, str):
            offsets.append(builder.CreateString(value))
        elif isinstance(value, _Table):
            offsets.append(_pack(builder, value))
        elif isinstance(value, list):
            children = [_pack(builder, child) for child in value]
            builder.StartVector(4, len(children), 4)
            for child in reversed(children):
                builder.PrependUOffsetTRelative(child)
            offsets.append(builder.EndVector())
        elif isinstance(value, _Floats):
            builder.StartVector(4, len(value.values), 4)
            for number in reversed(value.values):
                builder.PrependFloat32(number)
            offsets.append(builder.EndVector())
        else:
            offsets.append(None)
    builder.StartObject(len(table.fields))
    for slot, (value, offset) in enumerate(zip(table.fields, offsets)):
        if isinstance(value, _Byte):
            builder.PrependUint8Slot(slot, value.value, 0)
        elif offset is not None:
            builder.PrependUOffsetTRelativeSlot(slot, offset, 0)
    return builder.EndObject()


def _file(name: str, description: str, kind: int) -> _Table:
    # AssociatedFile: name, description, type, locale, version
    return _Table((name, description, _Byte(kind), None, None))


def _tensor(name: str, description: str, stats: tuple[float, float] | None = None,
            files: list[_Table] | None = None) -> _Table:
    content = _Table((_Byte(_FEATURE_PROPERTIES), _Table(()), None))  # properties type, properties, range
    max_min = (_Floats((stats[1],)), _Floats((stats[0],))) if stats else (None, None)  # Stats: max, min
    # TensorMetadata: name, description, dimension_names, content, process_units, stats, associated_files
    return _Table((name, description, None, content, None, _Table(max_min), files))


def _model(flatbuffer: bytes) -> Any:
    from ai_edge_litert import schema_py_generated as schema

    if len(flatbuffer) < 8 or bytes(flatbuffer[4:8]) != _TFLITE_ID:
        raise MetadataError(f"Expected a TFLite flatbuffer (identifier {_TFLITE_ID!r}). "
                            f"Received: {bytes(flatbuffer[4:8])!r} at bytes 4-8.")
    return schema.Model.GetRootAs(flatbuffer, 0)


def _tensor_names(model: Any, indices: Any) -> list[str]:
    graph = model.Subgraphs(0)
    return [graph.Tensors(int(i)).Name().decode() for i in indices]


def _role_of(tensor_name: str, wanted: dict[str, str]) -> str | None:
    """The metadata role ("ids", "mask", "segment_ids") whose tfkit name ``tensor_name`` carries."""
    for role, name in wanted.items():
        if tensor_name == name or input_name(tensor_name) == name:
            return role
    return None


def _metadata_table(model: Any, labels: Sequence[str], name: str, description: str, version: str | None,
                    wanted: dict[str, str]) -> _Table:
    graph = model.Subgraphs(0)
    inputs = _tensor_names(model, graph.InputsAsNumpy())
    roles = [_role_of(tensor, wanted) for tensor in inputs]
    missing = [f"{role}={wanted[role]!r}" for role in wanted if role not in roles]
    if missing or len(inputs) != 3 or len(set(roles)) != 3:
        raise MetadataError(
            f"Expected a TFLite file with exactly the three BERT inputs {', '.join(map(repr, wanted.values()))}. "
            f"Received: inputs {inputs}; not found: {', '.join(missing) or 'none'}. Pass ids_name=, mask_name= "
            "and segment_name= if the file names them differently.")
    for index in graph.InputsAsNumpy():
        if graph.Tensors(int(index)).Type() != _INT32:
            raise MetadataError(f"Expected int32 inputs (MediaPipe writes int32 token ids). "
                                f"Received: {graph.Tensors(int(index)).Name().decode()!r} of TFLite type "
                                f"{graph.Tensors(int(index)).Type()}.")
    if graph.OutputsLength() != 1:
        raise MetadataError(f"Expected one output tensor (the label scores). Received: "
                            f"{_tensor_names(model, graph.OutputsAsNumpy())}.")
    output = graph.Tensors(int(graph.Outputs(0)))
    shape = output.ShapeSignatureAsNumpy() if output.ShapeSignatureLength() else output.ShapeAsNumpy()
    if len(shape) != 2 or int(shape[-1]) != len(labels):
        raise MetadataError(f"Expected an output of shape [1, {len(labels)}] (one score per label). Received: "
                            f"shape {list(map(int, shape))} for labels={list(labels)}.")
    stats = {_FLOAT32: (0.0, 1.0), _UINT8: (0.0, 255.0)}.get(output.Type())
    score = _tensor(_OUTPUT_NAME, _OUTPUT_DESCRIPTION, stats,
                    [_file(LABEL_FILE, _LABEL_DESCRIPTION, _TENSOR_AXIS_LABELS)])
    tokenizer = _Table((_Byte(_BERT_TOKENIZER_OPTIONS),
                        _Table(([_file(VOCAB_FILE, _VOCAB_DESCRIPTION, _VOCABULARY)],))))
    # SubGraphMetadata: name, description, inputs, outputs, files, input_process_units, output_process_units,
    # input_tensor_groups, output_tensor_groups, custom_metadata
    subgraph = _Table((None, None, [_tensor(role, _INPUTS[role]) for role in roles], [score], None, [tokenizer],
                       None, None, None, None))
    # ModelMetadata: name, description, version, subgraph_metadata, author, license, files, min_parser_version
    return _Table((name, description or None, version, [subgraph], None, None, None, MIN_PARSER_VERSION))


def with_text_classifier_metadata(flatbuffer: bytes, *, vocab: Sequence[str], labels: Sequence[str], name: str,
                                  description: str = "", version: str | None = None,
                                  ids_name: str = "input_ids", mask_name: str = "attention_mask",
                                  segment_name: str = "token_type_ids") -> bytes:
    """``flatbuffer`` with MediaPipe Tasks' text-classifier metadata, vocabulary and label files.

    Any metadata and packed files the input already carries are replaced.

    Args:
        flatbuffer: A TFLite model with three int32 inputs (token ids, attention mask, token types) and one
            output of ``[1, len(labels)]`` scores.
        vocab: The WordPiece vocabulary in id order (written as ``vocab.txt``).
        labels: The label names in output order (written as ``labels.txt``).
        name: ``ModelMetadata.name`` (MediaPipe's writer uses ``"TextClassifier"``).
        description: ``ModelMetadata.description``; empty leaves it out.
        version: ``ModelMetadata.version``; None leaves it out.
        ids_name: The token-id input: a tensor name, or the name inside ``serving_default_<name>:0``.
        mask_name: The attention-mask input, named as ``ids_name``.
        segment_name: The token-type (segment) input, named as ``ids_name``.

    Returns:
        The new TFLite file's bytes.

    Raises:
        MetadataError: The file is not TFLite, lacks one of the inputs, or its output does not match ``labels``.

    Examples:
        >>> tagged = with_text_classifier_metadata(flatbuffer, vocab=vocab, labels=["neg", "pos"],
        ...                                        name="TextClassifier")          # doctest: +SKIP
    """
    from ai_edge_litert import schema_py_generated as schema

    if not labels or not vocab:
        raise MetadataError(f"Expected labels and a vocabulary. Received: {len(labels)} labels, "
                            f"{len(vocab)} vocabulary entries.")
    if any("\n" in label for label in labels) or any("\n" in token for token in vocab):
        raise MetadataError("Expected labels and vocabulary entries without line breaks (each is one line of "
                            "its file). Received: an entry with '\\n'.")
    model = _model(flatbuffer)
    wanted = {"ids": ids_name, "mask": mask_name, "segment_ids": segment_name}
    table = _metadata_table(model, labels, name, description, version, wanted)
    builder = flatbuffers.Builder(0)
    builder.Finish(_pack(builder, table), _METADATA_ID)
    metadata = bytes(builder.Output())

    tree = schema.ModelT.InitFromObj(model)
    if any(buffer.offset for buffer in tree.buffers or []):
        raise MetadataError("Expected a TFLite file with its weights inside the flatbuffer. Received: a file "
                            "whose buffers are stored by offset (over 2 GB); MediaPipe's metadata needs a "
                            "re-packed flatbuffer.")
    blob = schema.BufferT()
    blob.data = np.frombuffer(metadata, np.uint8)
    entry = next((m for m in tree.metadata or [] if m.name.decode() == METADATA_FIELD), None)
    if entry is None:
        tree.buffers = [*(tree.buffers or []), blob]
        entry = schema.MetadataT()
        entry.name, entry.buffer = METADATA_FIELD, len(tree.buffers) - 1
        tree.metadata = [*(tree.metadata or []), entry]
    else:
        tree.buffers[entry.buffer] = blob
    builder = flatbuffers.Builder(1024)
    builder.Finish(tree.Pack(builder), _TFLITE_ID)
    # The files as MediaPipe's populator packs them: a zip appended to the flatbuffer, members stored (MediaPipe
    # 1.2.3 does not load a file whose members are deflated: measured).
    out = io.BytesIO(bytes(builder.Output()))
    out.seek(0, io.SEEK_END)
    with zipfile.ZipFile(out, "a") as archive:
        for filename, text in ((VOCAB_FILE, "".join(f"{token}\n" for token in vocab)),
                               (LABEL_FILE, "\n".join(labels))):
            info = zipfile.ZipInfo(filename, date_time=_ZIP_DATE)
            info.external_attr = 0o600 << 16
            archive.writestr(info, text.encode("utf-8"))
    return out.getvalue()


# Reading back (tests, inspection): a few fields of the schema by slot.
def _field(table: Table, slot: int) -> int:
    return table.Offset(4 + 2 * slot)


def _string(table: Table, slot: int) -> str | None:
    offset = _field(table, slot)
    return table.String(offset + table.Pos).decode("utf-8") if offset else None


def _child(table: Table, slot: int) -> Table | None:
    offset = _field(table, slot)
    return Table(table.Bytes, table.Indirect(offset + table.Pos)) if offset else None


def _children(table: Table | None, slot: int) -> list[Table]:
    offset = _field(table, slot) if table is not None else 0
    if not offset:
        return []
    start = table.Vector(offset)
    return [Table(table.Bytes, table.Indirect(start + 4 * i)) for i in range(table.VectorLen(offset))]


def _byte(table: Table, slot: int) -> int:
    offset = _field(table, slot)
    return table.Get(flatbuffers.number_types.Uint8Flags, offset + table.Pos) if offset else 0


def _floats(table: Table | None, slot: int) -> list[float] | None:
    offset = _field(table, slot) if table is not None else 0
    if not offset:
        return None
    return table.GetVectorAsNumpy(flatbuffers.number_types.Float32Flags, offset).tolist()


def _files(table: Table | None, slot: int) -> list[dict[str, Any]]:
    return [{"name": _string(f, 0), "description": _string(f, 1), "type": _byte(f, 2)}
            for f in _children(table, slot)]


def _tensor_dict(table: Table) -> dict[str, Any]:
    stats = _child(table, 5)
    return {"name": _string(table, 0), "description": _string(table, 1),
            "content_properties_type": _byte(_child(table, 3), 0) if _child(table, 3) else None,
            "min": _floats(stats, 1), "max": _floats(stats, 0), "associated_files": _files(table, 6)}


def metadata_buffer(flatbuffer: bytes) -> bytes | None:
    """The raw metadata flatbuffer named ``"TFLITE_METADATA"`` in a TFLite file, or None.

    Examples:
        >>> metadata_buffer(tagged)[4:8]                                                # doctest: +SKIP
        b'M001'
    """
    model = _model(flatbuffer)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name().decode() == METADATA_FIELD:
            return model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return None


def read_metadata(flatbuffer: bytes) -> dict[str, Any]:
    """The text-classifier metadata of a TFLite file as a dict, with its packed files' contents.

    Returns:
        ``name``, ``description``, ``version``, ``min_parser_version``, ``inputs`` (per model input in model
        order: metadata ``name``, ``description``, ``tensor`` name), ``outputs``, ``input_process_units``
        (``options_type`` 4 is BertTokenizerOptions, with its ``vocab_file``), ``files`` (name to bytes, from the
        appended zip) and, when those files are there, ``labels`` and ``vocab`` as lists.

    Raises:
        MetadataError: The file carries no MediaPipe metadata.

    Examples:
        >>> read_metadata(tagged)["min_parser_version"]                                 # doctest: +SKIP
        '1.1.0'
    """
    raw = metadata_buffer(flatbuffer)
    if raw is None or raw[4:8] != _METADATA_ID:
        raise MetadataError(f"Expected a TFLite file with a {METADATA_FIELD!r} metadata buffer "
                            f"(identifier {_METADATA_ID!r}). Received: {'none' if raw is None else raw[4:8]!r}.")
    root = Table(raw, flatbuffers.encode.Get(flatbuffers.packer.uoffset, raw, 0))
    subgraph = _children(root, 3)[0]
    model = _model(flatbuffer)
    tensors = _tensor_names(model, model.Subgraphs(0).InputsAsNumpy())
    units = [{"options_type": _byte(unit, 0), "vocab_file": _files(_child(unit, 1), 0)}
             for unit in _children(subgraph, 5)]
    out: dict[str, Any] = {
        "name": _string(root, 0), "description": _string(root, 1), "version": _string(root, 2),
        "min_parser_version": _string(root, 7),
        "inputs": [{**_tensor_dict(t), "tensor": name} for t, name in zip(_children(subgraph, 2), tensors)],
        "outputs": [_tensor_dict(t) for t in _children(subgraph, 3)],
        "input_process_units": units,
        "files": {},
    }
    try:
        with zipfile.ZipFile(io.BytesIO(flatbuffer)) as archive:
            out["files"] = {info.filename: archive.read(info) for info in archive.infolist()}
    except zipfile.BadZipFile:
        pass
    if LABEL_FILE in out["files"]:
        out["labels"] = out["files"][LABEL_FILE].decode("utf-8").split("\n")
    if VOCAB_FILE in out["files"]:
        out["vocab"] = out["files"][VOCAB_FILE].decode("utf-8").splitlines()
    return out
