"""Operating a deployment of the product: where its resources are, and what an operator reads and does there."""
