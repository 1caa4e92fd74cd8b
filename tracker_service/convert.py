"""Pydantic models <-> protobuf messages, by field name.

The proto messages mirror the models field for field, so one generic pair of functions converts
both ways. The mapping rules: datetimes are ``google.protobuf.Timestamp``; a dict field ``x``
that is free-form travels as the string ``x_json``; an unset optional field or an empty string
becomes None (or the model's default) on the way back.
"""

from __future__ import annotations

import json
import types
import typing
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from google.protobuf.message import Message
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from srlforge.proto.v1 import tracker_pb2 as pb
from tracker_service import models

M = TypeVar("M", bound=BaseModel)

# proto message name -> the model it carries, for nested messages on the way back.
_MODEL_FOR_MESSAGE: dict[str, type[BaseModel]] = {
    "MetricPoint": models.MetricPoint,
    "TrendBucket": models.TrendBucket,
    "Trend": models.Trend,
    "Regression": models.Regression,
    "Weakness": models.Weakness,
    "ModelVersion": models.ModelVersion,
    "StageTransition": models.StageTransition,
    "GateComparison": models.GateComparison,
    "PromotionResult": models.PromotionResult,
    "RetrainCondition": models.RetrainCondition,
    "RetrainTrigger": models.RetrainTrigger,
    "RetrainDecision": models.RetrainDecision,
    "RecordMetricsResponse": models.RecordResult,
    "RegisterModelRequest": models.ModelSpec,
}
_TIMESTAMP = "google.protobuf.Timestamp"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_proto(model: BaseModel, message_cls: type[Message]) -> Message:
    message = message_cls()
    fields = message.DESCRIPTOR.fields_by_name
    for name, value in model:
        if value is None:
            continue
        if f"{name}_json" in fields:
            setattr(message, f"{name}_json", json.dumps(value, sort_keys=True))
        elif isinstance(value, datetime):
            getattr(message, name).FromDatetime(value.astimezone(UTC))
        elif isinstance(value, BaseModel):
            nested = getattr(message, name)
            nested.CopyFrom(to_proto(value, type(nested)))
        elif isinstance(value, dict):
            getattr(message, name).update(value)
        elif isinstance(value, list):
            target = getattr(message, name)
            if value and isinstance(value[0], BaseModel):
                item_cls = type(target.add())
                del target[:]
                target.extend(to_proto(item, item_cls) for item in value)
            else:
                target.extend(value)
        else:
            setattr(message, name, value)
    return message


def _allows_none(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(
        None
    ) in typing.get_args(annotation)


def proto_fields(message: Message, model_cls: type[BaseModel]) -> dict[str, Any]:
    """The model's fields read from ``message`` (unvalidated), for model_validate."""
    descriptors = message.DESCRIPTOR.fields_by_name
    values: dict[str, Any] = {}
    for name, info in model_cls.model_fields.items():
        if f"{name}_json" in descriptors:
            text = getattr(message, f"{name}_json")
            if text:
                values[name] = json.loads(text)
            continue
        descriptor = descriptors[name]
        if descriptor.has_presence and not message.HasField(name):
            continue
        raw = getattr(message, name)
        sub = descriptor.message_type
        if sub is not None and sub.full_name == _TIMESTAMP:
            values[name] = raw.ToDatetime(tzinfo=UTC)
        elif sub is not None and sub.GetOptions().map_entry:
            values[name] = dict(raw)
        elif descriptor.is_repeated:
            if sub is not None:
                item_cls = _MODEL_FOR_MESSAGE[sub.name]
                values[name] = [from_proto(item, item_cls) for item in raw]
            else:
                values[name] = list(raw)
        elif sub is not None:
            values[name] = from_proto(raw, _MODEL_FOR_MESSAGE[sub.name])
        elif raw == "" and (info.default is not PydanticUndefined or _allows_none(info.annotation)):
            continue  # the model's default (None, or e.g. the default split) applies
        else:
            values[name] = raw
    return values


def from_proto(message: Message, model_cls: type[M]) -> M:
    values = proto_fields(message, model_cls)
    for name, info in model_cls.model_fields.items():
        if name not in values and info.is_required() and _allows_none(info.annotation):
            values[name] = None
    return model_cls.model_validate(values)


def timestamp_or_none(message: Message, name: str) -> datetime | None:
    return getattr(message, name).ToDatetime(tzinfo=UTC) if message.HasField(name) else None


def optional_value(message: Message, name: str) -> Any:
    return getattr(message, name) if message.HasField(name) else None


def set_timestamp(message: Message, name: str, value: datetime | None) -> None:
    if value is not None:
        getattr(message, name).FromDatetime(value.astimezone(UTC))


# Metric points are the one high-volume message; these skip the generic field walk (~5x faster).


def point_to_proto(point: models.MetricPoint) -> pb.MetricPoint:
    message = pb.MetricPoint(
        model_id=point.model_id,
        metric=point.metric,
        value=point.value,
        step=point.step,
        split=point.split,
        run_id=point.run_id or "",
    )
    if point.ts is not None:
        # Integer arithmetic: Timestamp.FromDatetime costs more than the rest of the point.
        seconds, micros = divmod((point.ts - _EPOCH) // _MICROSECOND, 1_000_000)
        message.ts.seconds, message.ts.nanos = seconds, micros * 1000
    return message


def point_fields(message: pb.MetricPoint) -> dict[str, Any]:
    """The point's fields (unvalidated): what ``proto_fields(message, MetricPoint)`` returns."""
    fields: dict[str, Any] = {
        "model_id": message.model_id,
        "metric": message.metric,
        "value": message.value,
    }
    if message.HasField("step"):
        fields["step"] = message.step
    if message.HasField("ts"):
        ts = message.ts
        fields["ts"] = _EPOCH + timedelta(seconds=ts.seconds, microseconds=ts.nanos // 1000)
    if message.split:
        fields["split"] = message.split
    if message.run_id:
        fields["run_id"] = message.run_id
    return fields
