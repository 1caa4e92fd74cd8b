"""collab_service: Model A (lore), Model B (teacher), Model C (verifier) and the orchestrator
that turns (species, model type, count) into verified expert trajectories."""
