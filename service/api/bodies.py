"""JSON request bodies decoded once, strictly, from their bytes into their msgspec ``Struct``.

Litestar converts bodies leniently (``"5"`` or ``5.0`` for an integer becomes ``5``); a handler whose
``dto`` is ``StrictJSON[Body]`` gets its body decoded by msgspec in strict mode instead, in one pass
(no intermediate dict), so a value of the wrong type is a 422 like any other invalid value. The OpenAPI
schema is the Struct's own."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

import msgspec
from litestar.dto import AbstractDTO, DTOFieldDefinition
from litestar.openapi.spec import Reference, Schema
from litestar.typing import FieldDefinition

from service.errors import BadRequestError

T = TypeVar("T", bound=msgspec.Struct)


class StrictJSON(AbstractDTO[T]):
    """Use as a handler's ``dto`` (with ``return_dto=None``); its ``data`` is the decoded Struct."""

    @classmethod
    def generate_field_definitions(cls, model_type: type[Any]) -> Generator[DTOFieldDefinition, None, None]:
        yield from ()  # no transfer model: the Struct is decoded as it is

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        if field_definition.annotation is not cls.model_type:
            raise TypeError(f"StrictJSON[{cls.model_type.__name__}] decodes bodies of that type only")

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Reference | Schema:
        annotation = FieldDefinition.from_annotation(
            cls.model_type, kwarg_definition=field_definition.kwarg_definition
        )
        schema: Reference | Schema = schema_creator.for_field_definition(annotation)
        return schema

    def decode_bytes(self, value: bytes) -> T:
        if not value.strip():
            raise BadRequestError("the request body is empty; send a JSON object")
        return msgspec.json.decode(value, type=self.model_type)

    def decode_builtins(self, value: dict[str, Any]) -> T:
        return msgspec.convert(value, type=self.model_type)
