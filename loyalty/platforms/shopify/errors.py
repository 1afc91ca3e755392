class AdminApiError(Exception):
    """A call to Shopify failed. `transient` says whether trying again later may succeed."""

    def __init__(self, code: str, message: str, *, transient: bool = False, status: int = 0):
        super().__init__(message)
        self.code = code
        self.transient = transient
        self.status = status
