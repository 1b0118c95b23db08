"""Imports every models module so that ``Base.metadata`` knows all tables (for Alembic, dumps)."""

from alianza.platform.agreements import models as agreement_models  # noqa: F401
from alianza.platform.audit import models as audit_models  # noqa: F401
from alianza.platform.calls import models as call_models  # noqa: F401
from alianza.platform.db import Base
from alianza.platform.fieldrecords import models as fieldrecord_models  # noqa: F401
from alianza.platform.jobs import models as job_models  # noqa: F401
from alianza.platform.kits import models as kit_models  # noqa: F401
from alianza.platform.ledger import models as ledger_models  # noqa: F401
from alianza.platform.payments import models as payment_models  # noqa: F401
from alianza.platform.programmes import models as programme_models  # noqa: F401
from alianza.platform.registry import models as registry_models  # noqa: F401
from alianza.platform.rollout import models as rollout_models  # noqa: F401
from alianza.platform.subprojects import models as subproject_models  # noqa: F401

metadata = Base.metadata
