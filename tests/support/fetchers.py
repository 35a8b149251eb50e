"""A fetcher that serves documents from memory, for backend unit tests without a server."""

import json
from typing import Any

from services.harvester.fetch import FetchError


class MemoryFetcher:
    """URL -> body, or (body, Content-Type); a bare body is served as `media_type`. Anything else
    is a 404. `asked` lists the URLs in the order they were asked."""

    def __init__(self, documents: dict[str, Any], media_type: str = "application/xml") -> None:
        self.documents = documents
        self.media_type = media_type
        self.asked: list[str] = []

    async def get_document(self, url: str) -> tuple[bytes, str]:
        self.asked.append(url)
        if url not in self.documents:
            raise FetchError(url, "HTTP 404")
        document = self.documents[url]
        body, media_type = document if isinstance(document, tuple) else (document, self.media_type)
        return (body.encode() if isinstance(body, str) else body), media_type

    async def get_json(self, url: str) -> Any:
        return json.loads((await self.get_document(url))[0])
