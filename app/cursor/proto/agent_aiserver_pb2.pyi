from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BidiRequestId(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class BidiAppendRequest(_message.Message):
    __slots__ = ("data", "request_id", "append_seqno")
    DATA_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    APPEND_SEQNO_FIELD_NUMBER: _ClassVar[int]
    data: str
    request_id: BidiRequestId
    append_seqno: int
    def __init__(self, data: _Optional[str] = ..., request_id: _Optional[_Union[BidiRequestId, _Mapping]] = ..., append_seqno: _Optional[int] = ...) -> None: ...

class BidiAppendResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AvailableModelsRequest(_message.Message):
    __slots__ = ("use_model_parameters",)
    USE_MODEL_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    use_model_parameters: bool
    def __init__(self, use_model_parameters: _Optional[bool] = ...) -> None: ...

class AvailableModelsResponse(_message.Message):
    __slots__ = ("model_names", "models")
    MODEL_NAMES_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    model_names: _containers.RepeatedScalarFieldContainer[str]
    models: _containers.RepeatedCompositeFieldContainer[AvailableModel]
    def __init__(self, model_names: _Optional[_Iterable[str]] = ..., models: _Optional[_Iterable[_Union[AvailableModel, _Mapping]]] = ...) -> None: ...

class AvailableModel(_message.Message):
    __slots__ = ("name", "default_on", "supports_thinking", "supports_images", "supports_max_mode", "context_token_limit", "client_display_name", "server_model_name", "parameter_definitions", "variants", "is_hidden", "legacy_slugs", "id_aliases")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_ON_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_THINKING_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_IMAGES_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_MAX_MODE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_TOKEN_LIMIT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    SERVER_MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_DEFINITIONS_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    IS_HIDDEN_FIELD_NUMBER: _ClassVar[int]
    LEGACY_SLUGS_FIELD_NUMBER: _ClassVar[int]
    ID_ALIASES_FIELD_NUMBER: _ClassVar[int]
    name: str
    default_on: bool
    supports_thinking: bool
    supports_images: bool
    supports_max_mode: bool
    context_token_limit: int
    client_display_name: str
    server_model_name: str
    parameter_definitions: _containers.RepeatedCompositeFieldContainer[ModelParameterDefinition]
    variants: _containers.RepeatedCompositeFieldContainer[ModelVariant]
    is_hidden: bool
    legacy_slugs: _containers.RepeatedScalarFieldContainer[str]
    id_aliases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., default_on: _Optional[bool] = ..., supports_thinking: _Optional[bool] = ..., supports_images: _Optional[bool] = ..., supports_max_mode: _Optional[bool] = ..., context_token_limit: _Optional[int] = ..., client_display_name: _Optional[str] = ..., server_model_name: _Optional[str] = ..., parameter_definitions: _Optional[_Iterable[_Union[ModelParameterDefinition, _Mapping]]] = ..., variants: _Optional[_Iterable[_Union[ModelVariant, _Mapping]]] = ..., is_hidden: _Optional[bool] = ..., legacy_slugs: _Optional[_Iterable[str]] = ..., id_aliases: _Optional[_Iterable[str]] = ...) -> None: ...

class ModelParameterDefinition(_message.Message):
    __slots__ = ("id", "display_name", "tooltip", "values", "default_index")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    TOOLTIP_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_INDEX_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    tooltip: str
    values: _containers.RepeatedScalarFieldContainer[str]
    default_index: int
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., tooltip: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ..., default_index: _Optional[int] = ...) -> None: ...

class ModelVariant(_message.Message):
    __slots__ = ("parameters", "is_max", "display_name", "variant_string", "legacy_slug")
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    IS_MAX_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    VARIANT_STRING_FIELD_NUMBER: _ClassVar[int]
    LEGACY_SLUG_FIELD_NUMBER: _ClassVar[int]
    parameters: _containers.RepeatedCompositeFieldContainer[ModelParameterValue]
    is_max: bool
    display_name: str
    variant_string: str
    legacy_slug: str
    def __init__(self, parameters: _Optional[_Iterable[_Union[ModelParameterValue, _Mapping]]] = ..., is_max: _Optional[bool] = ..., display_name: _Optional[str] = ..., variant_string: _Optional[str] = ..., legacy_slug: _Optional[str] = ...) -> None: ...

class ModelParameterValue(_message.Message):
    __slots__ = ("id", "value")
    ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    id: str
    value: str
    def __init__(self, id: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
