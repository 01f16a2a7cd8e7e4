from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KeyConfig(_message.Message):
    __slots__ = ("auth_token", "disable_vision", "enable_slow_pool", "usage_check_models", "include_web_references")
    class TokenInfo(_message.Message):
        __slots__ = ("sub", "exp", "randomness", "signature", "machine_id", "mac_id")
        SUB_FIELD_NUMBER: _ClassVar[int]
        EXP_FIELD_NUMBER: _ClassVar[int]
        RANDOMNESS_FIELD_NUMBER: _ClassVar[int]
        SIGNATURE_FIELD_NUMBER: _ClassVar[int]
        MACHINE_ID_FIELD_NUMBER: _ClassVar[int]
        MAC_ID_FIELD_NUMBER: _ClassVar[int]
        sub: str
        exp: int
        randomness: str
        signature: str
        machine_id: bytes
        mac_id: bytes
        def __init__(self, sub: _Optional[str] = ..., exp: _Optional[int] = ..., randomness: _Optional[str] = ..., signature: _Optional[str] = ..., machine_id: _Optional[bytes] = ..., mac_id: _Optional[bytes] = ...) -> None: ...
    class UsageCheckModel(_message.Message):
        __slots__ = ("type", "model_ids")
        class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            TYPE_DEFAULT: _ClassVar[KeyConfig.UsageCheckModel.Type]
            TYPE_DISABLED: _ClassVar[KeyConfig.UsageCheckModel.Type]
            TYPE_ALL: _ClassVar[KeyConfig.UsageCheckModel.Type]
            TYPE_CUSTOM: _ClassVar[KeyConfig.UsageCheckModel.Type]
        TYPE_DEFAULT: KeyConfig.UsageCheckModel.Type
        TYPE_DISABLED: KeyConfig.UsageCheckModel.Type
        TYPE_ALL: KeyConfig.UsageCheckModel.Type
        TYPE_CUSTOM: KeyConfig.UsageCheckModel.Type
        TYPE_FIELD_NUMBER: _ClassVar[int]
        MODEL_IDS_FIELD_NUMBER: _ClassVar[int]
        type: KeyConfig.UsageCheckModel.Type
        model_ids: _containers.RepeatedScalarFieldContainer[str]
        def __init__(self, type: _Optional[_Union[KeyConfig.UsageCheckModel.Type, str]] = ..., model_ids: _Optional[_Iterable[str]] = ...) -> None: ...
    AUTH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DISABLE_VISION_FIELD_NUMBER: _ClassVar[int]
    ENABLE_SLOW_POOL_FIELD_NUMBER: _ClassVar[int]
    USAGE_CHECK_MODELS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_WEB_REFERENCES_FIELD_NUMBER: _ClassVar[int]
    auth_token: KeyConfig.TokenInfo
    disable_vision: bool
    enable_slow_pool: bool
    usage_check_models: KeyConfig.UsageCheckModel
    include_web_references: bool
    def __init__(self, auth_token: _Optional[_Union[KeyConfig.TokenInfo, _Mapping]] = ..., disable_vision: _Optional[bool] = ..., enable_slow_pool: _Optional[bool] = ..., usage_check_models: _Optional[_Union[KeyConfig.UsageCheckModel, _Mapping]] = ..., include_web_references: _Optional[bool] = ...) -> None: ...
