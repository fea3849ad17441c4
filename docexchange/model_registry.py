"""Imports every module that defines node tables, so Alembic and create_all see the whole schema."""

from . import models  # noqa: F401
from .archive import models as _archive  # noqa: F401
from .copies import models as _copies  # noqa: F401
from .db import Base
from .documents import models as _documents  # noqa: F401
from .exchange import models as _exchange  # noqa: F401

metadata = Base.metadata
