"""HTTP routes; each module is one area of the API and stays thin over the domain modules."""
