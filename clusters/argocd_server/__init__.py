"""argocd-server integration (issue 13): per-resource health, the live tree and diffs of each
Argo CD Application, read by the worker from argocd-server's API and stored in ArgoAppDetail.

    settings.py  the clusters.yaml ``argocd:`` block (parsed, validated, never a token)
    client.py    one GET with Bearer auth, CA bundle, timeouts, a size cap; failures → reasons
    parse.py     pure: resource-tree and managed-resources answers → ArgoAppDetail shapes
    refresh.py   the worker's step: which Applications to read, the bounds, the writes
"""
