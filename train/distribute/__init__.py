"""keraslite.distribute (placeholder)"""
