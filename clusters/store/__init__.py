"""The store stage: writes what the collectors read into the Django models.

``objects`` upserts GitOps objects and records transitions, ``supporting`` keeps what pages
need besides them (controller workloads, monitors, Events), ``rollups`` derives each namespace's
overview row, ``ownership`` persists the ownership analysis.
"""
