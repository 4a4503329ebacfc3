"""Everything that talks to the WHMCS API: transport, normalisation, typed methods."""
