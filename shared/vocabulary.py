"""Code lists several services share: the licences datasets are normalised to, and the portal
families (one harvester backend each)."""

LICENCES = ("licence-ouverte", "odbl", "cc-by", "cc-by-sa", "cc0", "autre", "non-specifiee")
PORTAL_FAMILIES = ("udata", "ods", "ckan", "dcat", "arcgis")
