"""Code lists several services share, each defined here once: the Observatoire's organisation types,
the licences datasets are normalised to, and the portal families (one harvester backend each)."""

# The Observatoire's organisation types (its code list): the collectivités territoriales, which its
# indicators count and the obligation to publish applies to, then the bodies associated with them.
COLLECTIVITE_TYPES = frozenset({"COM", "CC", "CA", "CU", "MET", "EPT", "DEP", "REG", "COLOM"})
EPCI_TYPES = frozenset({"CC", "CA", "CU", "MET", "EPT"})  # groupements: communautés, métropoles, EPT
ASSOCIATED_TYPES = frozenset({"AGCT", "OACT", "DSPT"})  # syndicats and agencies, tourism offices, delegates
ORGANIZATION_TYPES = ("COM", "CC", "CA", "CU", "MET", "EPT", "DEP", "REG", "COLOM", "AGCT", "OACT", "DSPT")

LICENCES = ("licence-ouverte", "odbl", "cc-by", "cc-by-sa", "cc0", "autre", "non-specifiee")
OPEN_LICENCES = frozenset(LICENCES[:5])  # the licences the open-licence indicator counts
PORTAL_FAMILIES = ("udata", "ods", "ckan", "dcat", "arcgis", "csw")
