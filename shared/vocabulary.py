"""Code lists several services share: the licences datasets are normalised to, and the portal
families (one harvester backend each)."""

LICENCES = ("licence-ouverte", "odbl", "cc-by", "cc-by-sa", "cc0", "autre", "non-specifiee")
OPEN_LICENCES = frozenset(LICENCES[:5])  # the licences the open-licence indicator counts
PORTAL_FAMILIES = ("udata", "ods", "ckan", "dcat", "arcgis", "csw")
