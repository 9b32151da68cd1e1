"""The WeCom server-API client: wechatpy underneath, our token cache, retries and typed errors."""

from wecom_hr.wecom.client import WeComClient
from wecom_hr.wecom.errors import (
    WeComAPIError,
    WeComBusyError,
    WeComError,
    WeComNetworkError,
    WeComRateLimitedError,
    WeComTimeoutError,
    WeComTokenError,
)

__all__ = [
    "WeComAPIError", "WeComBusyError", "WeComClient", "WeComError", "WeComNetworkError",
    "WeComRateLimitedError", "WeComTimeoutError", "WeComTokenError",
]
