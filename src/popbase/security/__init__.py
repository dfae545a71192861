"""Security: pseudonyms, principals, policies, masking and audit."""
