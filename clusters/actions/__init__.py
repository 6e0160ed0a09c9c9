"""Actions on Flux and Argo CD objects: catalog (what each kind offers), patches (the exact
writes the CLIs send), perform (sending them), events (the record on the object)."""
