from loyalty.core.platform import PlatformError


class AdminApiError(PlatformError):
    """A call to Shopify failed. `transient` says whether trying again later may succeed;
    `outcome_unknown` that Shopify may have applied it although no answer came."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        transient: bool = False,
        status: int = 0,
        outcome_unknown: bool = False,
        error_codes: tuple[str, ...] = (),
    ):
        super().__init__(code, message, transient=transient, outcome_unknown=outcome_unknown)
        self.status = status
        # GraphQL errors' `extensions.code` values, e.g. ("ACCESS_DENIED",)
        self.error_codes = error_codes
