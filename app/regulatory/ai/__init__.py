"""Answer providers of the regulatory endpoints: the rules engine and model servers over HTTP."""
