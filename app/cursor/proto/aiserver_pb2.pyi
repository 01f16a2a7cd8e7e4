from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetChatRequest(_message.Message):
    __slots__ = ("conversation", "explicit_context", "model_details", "request_id", "allow_long_file_scan", "is_bash", "conversation_id", "can_handle_filenames_after_language_ids", "use_web", "external_links", "long_context_mode", "is_eval", "runnable_code_blocks", "should_cache")
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    EXPLICIT_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    MODEL_DETAILS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOW_LONG_FILE_SCAN_FIELD_NUMBER: _ClassVar[int]
    IS_BASH_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CAN_HANDLE_FILENAMES_AFTER_LANGUAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    USE_WEB_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_LINKS_FIELD_NUMBER: _ClassVar[int]
    LONG_CONTEXT_MODE_FIELD_NUMBER: _ClassVar[int]
    IS_EVAL_FIELD_NUMBER: _ClassVar[int]
    RUNNABLE_CODE_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    SHOULD_CACHE_FIELD_NUMBER: _ClassVar[int]
    conversation: _containers.RepeatedCompositeFieldContainer[ConversationMessage]
    explicit_context: ExplicitContext
    model_details: ModelDetails
    request_id: str
    allow_long_file_scan: bool
    is_bash: bool
    conversation_id: str
    can_handle_filenames_after_language_ids: bool
    use_web: str
    external_links: _containers.RepeatedCompositeFieldContainer[ChatExternalLink]
    long_context_mode: bool
    is_eval: bool
    runnable_code_blocks: bool
    should_cache: bool
    def __init__(self, conversation: _Optional[_Iterable[_Union[ConversationMessage, _Mapping]]] = ..., explicit_context: _Optional[_Union[ExplicitContext, _Mapping]] = ..., model_details: _Optional[_Union[ModelDetails, _Mapping]] = ..., request_id: _Optional[str] = ..., allow_long_file_scan: _Optional[bool] = ..., is_bash: _Optional[bool] = ..., conversation_id: _Optional[str] = ..., can_handle_filenames_after_language_ids: _Optional[bool] = ..., use_web: _Optional[str] = ..., external_links: _Optional[_Iterable[_Union[ChatExternalLink, _Mapping]]] = ..., long_context_mode: _Optional[bool] = ..., is_eval: _Optional[bool] = ..., runnable_code_blocks: _Optional[bool] = ..., should_cache: _Optional[bool] = ...) -> None: ...

class ConversationMessage(_message.Message):
    __slots__ = ("text", "type", "images", "bubble_id", "is_capability_iteration", "is_agentic")
    class MessageType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MESSAGE_TYPE_UNSPECIFIED: _ClassVar[ConversationMessage.MessageType]
        MESSAGE_TYPE_HUMAN: _ClassVar[ConversationMessage.MessageType]
        MESSAGE_TYPE_AI: _ClassVar[ConversationMessage.MessageType]
    MESSAGE_TYPE_UNSPECIFIED: ConversationMessage.MessageType
    MESSAGE_TYPE_HUMAN: ConversationMessage.MessageType
    MESSAGE_TYPE_AI: ConversationMessage.MessageType
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    BUBBLE_ID_FIELD_NUMBER: _ClassVar[int]
    IS_CAPABILITY_ITERATION_FIELD_NUMBER: _ClassVar[int]
    IS_AGENTIC_FIELD_NUMBER: _ClassVar[int]
    text: str
    type: ConversationMessage.MessageType
    images: _containers.RepeatedCompositeFieldContainer[ImageProto]
    bubble_id: str
    is_capability_iteration: bool
    is_agentic: bool
    def __init__(self, text: _Optional[str] = ..., type: _Optional[_Union[ConversationMessage.MessageType, str]] = ..., images: _Optional[_Iterable[_Union[ImageProto, _Mapping]]] = ..., bubble_id: _Optional[str] = ..., is_capability_iteration: _Optional[bool] = ..., is_agentic: _Optional[bool] = ...) -> None: ...

class ImageProto(_message.Message):
    __slots__ = ("data", "dimension")
    class Dimension(_message.Message):
        __slots__ = ("width", "height")
        WIDTH_FIELD_NUMBER: _ClassVar[int]
        HEIGHT_FIELD_NUMBER: _ClassVar[int]
        width: int
        height: int
        def __init__(self, width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...
    DATA_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    dimension: ImageProto.Dimension
    def __init__(self, data: _Optional[bytes] = ..., dimension: _Optional[_Union[ImageProto.Dimension, _Mapping]] = ...) -> None: ...

class ExplicitContext(_message.Message):
    __slots__ = ("context", "repo_context")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    REPO_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    context: str
    repo_context: str
    def __init__(self, context: _Optional[str] = ..., repo_context: _Optional[str] = ...) -> None: ...

class ModelDetails(_message.Message):
    __slots__ = ("model_name", "api_key", "enable_ghost_mode", "azure_state", "enable_slow_pool", "openai_api_base_url")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    ENABLE_GHOST_MODE_FIELD_NUMBER: _ClassVar[int]
    AZURE_STATE_FIELD_NUMBER: _ClassVar[int]
    ENABLE_SLOW_POOL_FIELD_NUMBER: _ClassVar[int]
    OPENAI_API_BASE_URL_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    api_key: str
    enable_ghost_mode: bool
    azure_state: AzureState
    enable_slow_pool: bool
    openai_api_base_url: str
    def __init__(self, model_name: _Optional[str] = ..., api_key: _Optional[str] = ..., enable_ghost_mode: _Optional[bool] = ..., azure_state: _Optional[_Union[AzureState, _Mapping]] = ..., enable_slow_pool: _Optional[bool] = ..., openai_api_base_url: _Optional[str] = ...) -> None: ...

class AzureState(_message.Message):
    __slots__ = ("api_key", "base_url", "deployment", "use_azure")
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    USE_AZURE_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    base_url: str
    deployment: str
    use_azure: bool
    def __init__(self, api_key: _Optional[str] = ..., base_url: _Optional[str] = ..., deployment: _Optional[str] = ..., use_azure: _Optional[bool] = ...) -> None: ...

class ChatExternalLink(_message.Message):
    __slots__ = ("url", "uuid")
    URL_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    url: str
    uuid: str
    def __init__(self, url: _Optional[str] = ..., uuid: _Optional[str] = ...) -> None: ...

class StreamChatResponse(_message.Message):
    __slots__ = ("text", "debugging_only_chat_prompt", "debugging_only_token_count", "document_citation", "filled_prompt", "is_big_file", "intermediate_text", "docs_reference", "is_using_slow_request", "web_citation", "status_updates", "timing_info", "conversation_summary", "service_status_update", "server_bubble_id")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    DEBUGGING_ONLY_CHAT_PROMPT_FIELD_NUMBER: _ClassVar[int]
    DEBUGGING_ONLY_TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_CITATION_FIELD_NUMBER: _ClassVar[int]
    FILLED_PROMPT_FIELD_NUMBER: _ClassVar[int]
    IS_BIG_FILE_FIELD_NUMBER: _ClassVar[int]
    INTERMEDIATE_TEXT_FIELD_NUMBER: _ClassVar[int]
    DOCS_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    IS_USING_SLOW_REQUEST_FIELD_NUMBER: _ClassVar[int]
    WEB_CITATION_FIELD_NUMBER: _ClassVar[int]
    STATUS_UPDATES_FIELD_NUMBER: _ClassVar[int]
    TIMING_INFO_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    SERVICE_STATUS_UPDATE_FIELD_NUMBER: _ClassVar[int]
    SERVER_BUBBLE_ID_FIELD_NUMBER: _ClassVar[int]
    text: str
    debugging_only_chat_prompt: str
    debugging_only_token_count: int
    document_citation: DocumentationCitation
    filled_prompt: str
    is_big_file: bool
    intermediate_text: str
    docs_reference: DocsReference
    is_using_slow_request: bool
    web_citation: WebCitation
    status_updates: StatusUpdates
    timing_info: ServerTimingInfo
    conversation_summary: ConversationSummary
    service_status_update: ServiceStatusUpdate
    server_bubble_id: str
    def __init__(self, text: _Optional[str] = ..., debugging_only_chat_prompt: _Optional[str] = ..., debugging_only_token_count: _Optional[int] = ..., document_citation: _Optional[_Union[DocumentationCitation, _Mapping]] = ..., filled_prompt: _Optional[str] = ..., is_big_file: _Optional[bool] = ..., intermediate_text: _Optional[str] = ..., docs_reference: _Optional[_Union[DocsReference, _Mapping]] = ..., is_using_slow_request: _Optional[bool] = ..., web_citation: _Optional[_Union[WebCitation, _Mapping]] = ..., status_updates: _Optional[_Union[StatusUpdates, _Mapping]] = ..., timing_info: _Optional[_Union[ServerTimingInfo, _Mapping]] = ..., conversation_summary: _Optional[_Union[ConversationSummary, _Mapping]] = ..., service_status_update: _Optional[_Union[ServiceStatusUpdate, _Mapping]] = ..., server_bubble_id: _Optional[str] = ...) -> None: ...

class WebCitation(_message.Message):
    __slots__ = ("references",)
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    references: _containers.RepeatedCompositeFieldContainer[WebReference]
    def __init__(self, references: _Optional[_Iterable[_Union[WebReference, _Mapping]]] = ...) -> None: ...

class WebReference(_message.Message):
    __slots__ = ("url", "title")
    URL_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    url: str
    title: str
    def __init__(self, url: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...

class StatusUpdates(_message.Message):
    __slots__ = ("updates",)
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    updates: _containers.RepeatedCompositeFieldContainer[StatusUpdate]
    def __init__(self, updates: _Optional[_Iterable[_Union[StatusUpdate, _Mapping]]] = ...) -> None: ...

class StatusUpdate(_message.Message):
    __slots__ = ("message", "metadata")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    message: str
    metadata: str
    def __init__(self, message: _Optional[str] = ..., metadata: _Optional[str] = ...) -> None: ...

class DocumentationCitation(_message.Message):
    __slots__ = ("chunks",)
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    chunks: _containers.RepeatedCompositeFieldContainer[DocumentationChunk]
    def __init__(self, chunks: _Optional[_Iterable[_Union[DocumentationChunk, _Mapping]]] = ...) -> None: ...

class DocumentationChunk(_message.Message):
    __slots__ = ("doc_name", "page_url", "documentation_chunk", "score", "page_title")
    DOC_NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_URL_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTATION_CHUNK_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TITLE_FIELD_NUMBER: _ClassVar[int]
    doc_name: str
    page_url: str
    documentation_chunk: str
    score: float
    page_title: str
    def __init__(self, doc_name: _Optional[str] = ..., page_url: _Optional[str] = ..., documentation_chunk: _Optional[str] = ..., score: _Optional[float] = ..., page_title: _Optional[str] = ...) -> None: ...

class DocsReference(_message.Message):
    __slots__ = ("title", "url")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    title: str
    url: str
    def __init__(self, title: _Optional[str] = ..., url: _Optional[str] = ...) -> None: ...

class ServerTimingInfo(_message.Message):
    __slots__ = ("server_start_time", "server_first_token_time", "server_request_sent_time", "server_end_time")
    SERVER_START_TIME_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIRST_TOKEN_TIME_FIELD_NUMBER: _ClassVar[int]
    SERVER_REQUEST_SENT_TIME_FIELD_NUMBER: _ClassVar[int]
    SERVER_END_TIME_FIELD_NUMBER: _ClassVar[int]
    server_start_time: float
    server_first_token_time: float
    server_request_sent_time: float
    server_end_time: float
    def __init__(self, server_start_time: _Optional[float] = ..., server_first_token_time: _Optional[float] = ..., server_request_sent_time: _Optional[float] = ..., server_end_time: _Optional[float] = ...) -> None: ...

class ConversationSummary(_message.Message):
    __slots__ = ("summary", "truncation_last_bubble_id_inclusive", "client_should_start_sending_from_inclusive_bubble_id")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    TRUNCATION_LAST_BUBBLE_ID_INCLUSIVE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_SHOULD_START_SENDING_FROM_INCLUSIVE_BUBBLE_ID_FIELD_NUMBER: _ClassVar[int]
    summary: str
    truncation_last_bubble_id_inclusive: str
    client_should_start_sending_from_inclusive_bubble_id: str
    def __init__(self, summary: _Optional[str] = ..., truncation_last_bubble_id_inclusive: _Optional[str] = ..., client_should_start_sending_from_inclusive_bubble_id: _Optional[str] = ...) -> None: ...

class ServiceStatusUpdate(_message.Message):
    __slots__ = ("message", "codicon", "allow_command_links_potentially_unsafe_please_only_use_for_handwritten_trusted_markdown")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CODICON_FIELD_NUMBER: _ClassVar[int]
    ALLOW_COMMAND_LINKS_POTENTIALLY_UNSAFE_PLEASE_ONLY_USE_FOR_HANDWRITTEN_TRUSTED_MARKDOWN_FIELD_NUMBER: _ClassVar[int]
    message: str
    codicon: str
    allow_command_links_potentially_unsafe_please_only_use_for_handwritten_trusted_markdown: bool
    def __init__(self, message: _Optional[str] = ..., codicon: _Optional[str] = ..., allow_command_links_potentially_unsafe_please_only_use_for_handwritten_trusted_markdown: _Optional[bool] = ...) -> None: ...

class ErrorDetails(_message.Message):
    __slots__ = ("error", "details", "is_expected")
    class Error(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ERROR_UNSPECIFIED: _ClassVar[ErrorDetails.Error]
        ERROR_BAD_API_KEY: _ClassVar[ErrorDetails.Error]
        ERROR_NOT_LOGGED_IN: _ClassVar[ErrorDetails.Error]
        ERROR_INVALID_AUTH_ID: _ClassVar[ErrorDetails.Error]
        ERROR_NOT_HIGH_ENOUGH_PERMISSIONS: _ClassVar[ErrorDetails.Error]
        ERROR_BAD_MODEL_NAME: _ClassVar[ErrorDetails.Error]
        ERROR_USER_NOT_FOUND: _ClassVar[ErrorDetails.Error]
        ERROR_FREE_USER_RATE_LIMIT_EXCEEDED: _ClassVar[ErrorDetails.Error]
        ERROR_PRO_USER_RATE_LIMIT_EXCEEDED: _ClassVar[ErrorDetails.Error]
        ERROR_FREE_USER_USAGE_LIMIT: _ClassVar[ErrorDetails.Error]
        ERROR_PRO_USER_USAGE_LIMIT: _ClassVar[ErrorDetails.Error]
        ERROR_AUTH_TOKEN_NOT_FOUND: _ClassVar[ErrorDetails.Error]
        ERROR_AUTH_TOKEN_EXPIRED: _ClassVar[ErrorDetails.Error]
        ERROR_OPENAI: _ClassVar[ErrorDetails.Error]
        ERROR_OPENAI_RATE_LIMIT_EXCEEDED: _ClassVar[ErrorDetails.Error]
        ERROR_OPENAI_ACCOUNT_LIMIT_EXCEEDED: _ClassVar[ErrorDetails.Error]
        ERROR_TASK_UUID_NOT_FOUND: _ClassVar[ErrorDetails.Error]
        ERROR_TASK_NO_PERMISSIONS: _ClassVar[ErrorDetails.Error]
        ERROR_AGENT_REQUIRES_LOGIN: _ClassVar[ErrorDetails.Error]
        ERROR_AGENT_ENGINE_NOT_FOUND: _ClassVar[ErrorDetails.Error]
        ERROR_MAX_TOKENS: _ClassVar[ErrorDetails.Error]
        ERROR_USER_ABORTED_REQUEST: _ClassVar[ErrorDetails.Error]
        ERROR_GENERIC_RATE_LIMIT_EXCEEDED: _ClassVar[ErrorDetails.Error]
        ERROR_PRO_USER_ONLY: _ClassVar[ErrorDetails.Error]
        ERROR_API_KEY_NOT_SUPPORTED: _ClassVar[ErrorDetails.Error]
        ERROR_SLASH_EDIT_FILE_TOO_LONG: _ClassVar[ErrorDetails.Error]
        ERROR_FILE_UNSUPPORTED: _ClassVar[ErrorDetails.Error]
        ERROR_GPT_4_VISION_PREVIEW_RATE_LIMIT: _ClassVar[ErrorDetails.Error]
        ERROR_CUSTOM_MESSAGE: _ClassVar[ErrorDetails.Error]
        ERROR_OUTDATED_CLIENT: _ClassVar[ErrorDetails.Error]
        ERROR_CLAUDE_IMAGE_TOO_LARGE: _ClassVar[ErrorDetails.Error]
        ERROR_GITGRAPH_NOT_FOUND: _ClassVar[ErrorDetails.Error]
        ERROR_FILE_NOT_FOUND: _ClassVar[ErrorDetails.Error]
        ERROR_API_KEY_RATE_LIMIT: _ClassVar[ErrorDetails.Error]
        ERROR_DEBOUNCED: _ClassVar[ErrorDetails.Error]
        ERROR_BAD_REQUEST: _ClassVar[ErrorDetails.Error]
        ERROR_REPOSITORY_SERVICE_REPOSITORY_IS_NOT_INITIALIZED: _ClassVar[ErrorDetails.Error]
        ERROR_UNAUTHORIZED: _ClassVar[ErrorDetails.Error]
        ERROR_NOT_FOUND: _ClassVar[ErrorDetails.Error]
        ERROR_DEPRECATED: _ClassVar[ErrorDetails.Error]
        ERROR_RESOURCE_EXHAUSTED: _ClassVar[ErrorDetails.Error]
        ERROR_BAD_USER_API_KEY: _ClassVar[ErrorDetails.Error]
        ERROR_CONVERSATION_TOO_LONG: _ClassVar[ErrorDetails.Error]
        ERROR_USAGE_PRICING_REQUIRED: _ClassVar[ErrorDetails.Error]
        ERROR_USAGE_PRICING_REQUIRED_CHANGEABLE: _ClassVar[ErrorDetails.Error]
        ERROR_RATE_LIMITED: _ClassVar[ErrorDetails.Error]
        ERROR_RATE_LIMITED_CHANGEABLE: _ClassVar[ErrorDetails.Error]
        ERROR_CUSTOM: _ClassVar[ErrorDetails.Error]
        ERROR_HOOKS_BLOCKED: _ClassVar[ErrorDetails.Error]
    ERROR_UNSPECIFIED: ErrorDetails.Error
    ERROR_BAD_API_KEY: ErrorDetails.Error
    ERROR_NOT_LOGGED_IN: ErrorDetails.Error
    ERROR_INVALID_AUTH_ID: ErrorDetails.Error
    ERROR_NOT_HIGH_ENOUGH_PERMISSIONS: ErrorDetails.Error
    ERROR_BAD_MODEL_NAME: ErrorDetails.Error
    ERROR_USER_NOT_FOUND: ErrorDetails.Error
    ERROR_FREE_USER_RATE_LIMIT_EXCEEDED: ErrorDetails.Error
    ERROR_PRO_USER_RATE_LIMIT_EXCEEDED: ErrorDetails.Error
    ERROR_FREE_USER_USAGE_LIMIT: ErrorDetails.Error
    ERROR_PRO_USER_USAGE_LIMIT: ErrorDetails.Error
    ERROR_AUTH_TOKEN_NOT_FOUND: ErrorDetails.Error
    ERROR_AUTH_TOKEN_EXPIRED: ErrorDetails.Error
    ERROR_OPENAI: ErrorDetails.Error
    ERROR_OPENAI_RATE_LIMIT_EXCEEDED: ErrorDetails.Error
    ERROR_OPENAI_ACCOUNT_LIMIT_EXCEEDED: ErrorDetails.Error
    ERROR_TASK_UUID_NOT_FOUND: ErrorDetails.Error
    ERROR_TASK_NO_PERMISSIONS: ErrorDetails.Error
    ERROR_AGENT_REQUIRES_LOGIN: ErrorDetails.Error
    ERROR_AGENT_ENGINE_NOT_FOUND: ErrorDetails.Error
    ERROR_MAX_TOKENS: ErrorDetails.Error
    ERROR_USER_ABORTED_REQUEST: ErrorDetails.Error
    ERROR_GENERIC_RATE_LIMIT_EXCEEDED: ErrorDetails.Error
    ERROR_PRO_USER_ONLY: ErrorDetails.Error
    ERROR_API_KEY_NOT_SUPPORTED: ErrorDetails.Error
    ERROR_SLASH_EDIT_FILE_TOO_LONG: ErrorDetails.Error
    ERROR_FILE_UNSUPPORTED: ErrorDetails.Error
    ERROR_GPT_4_VISION_PREVIEW_RATE_LIMIT: ErrorDetails.Error
    ERROR_CUSTOM_MESSAGE: ErrorDetails.Error
    ERROR_OUTDATED_CLIENT: ErrorDetails.Error
    ERROR_CLAUDE_IMAGE_TOO_LARGE: ErrorDetails.Error
    ERROR_GITGRAPH_NOT_FOUND: ErrorDetails.Error
    ERROR_FILE_NOT_FOUND: ErrorDetails.Error
    ERROR_API_KEY_RATE_LIMIT: ErrorDetails.Error
    ERROR_DEBOUNCED: ErrorDetails.Error
    ERROR_BAD_REQUEST: ErrorDetails.Error
    ERROR_REPOSITORY_SERVICE_REPOSITORY_IS_NOT_INITIALIZED: ErrorDetails.Error
    ERROR_UNAUTHORIZED: ErrorDetails.Error
    ERROR_NOT_FOUND: ErrorDetails.Error
    ERROR_DEPRECATED: ErrorDetails.Error
    ERROR_RESOURCE_EXHAUSTED: ErrorDetails.Error
    ERROR_BAD_USER_API_KEY: ErrorDetails.Error
    ERROR_CONVERSATION_TOO_LONG: ErrorDetails.Error
    ERROR_USAGE_PRICING_REQUIRED: ErrorDetails.Error
    ERROR_USAGE_PRICING_REQUIRED_CHANGEABLE: ErrorDetails.Error
    ERROR_RATE_LIMITED: ErrorDetails.Error
    ERROR_RATE_LIMITED_CHANGEABLE: ErrorDetails.Error
    ERROR_CUSTOM: ErrorDetails.Error
    ERROR_HOOKS_BLOCKED: ErrorDetails.Error
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    IS_EXPECTED_FIELD_NUMBER: _ClassVar[int]
    error: ErrorDetails.Error
    details: CustomErrorDetails
    is_expected: bool
    def __init__(self, error: _Optional[_Union[ErrorDetails.Error, str]] = ..., details: _Optional[_Union[CustomErrorDetails, _Mapping]] = ..., is_expected: _Optional[bool] = ...) -> None: ...

class CustomErrorDetails(_message.Message):
    __slots__ = ("title", "detail", "allow_command_links_potentially_unsafe_please_only_use_for_handwritten_trusted_markdown", "is_retryable", "show_request_id")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    ALLOW_COMMAND_LINKS_POTENTIALLY_UNSAFE_PLEASE_ONLY_USE_FOR_HANDWRITTEN_TRUSTED_MARKDOWN_FIELD_NUMBER: _ClassVar[int]
    IS_RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    SHOW_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    title: str
    detail: str
    allow_command_links_potentially_unsafe_please_only_use_for_handwritten_trusted_markdown: bool
    is_retryable: bool
    show_request_id: bool
    def __init__(self, title: _Optional[str] = ..., detail: _Optional[str] = ..., allow_command_links_potentially_unsafe_please_only_use_for_handwritten_trusted_markdown: _Optional[bool] = ..., is_retryable: _Optional[bool] = ..., show_request_id: _Optional[bool] = ...) -> None: ...
