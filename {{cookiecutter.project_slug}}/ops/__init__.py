"""Operations code of the project: how it is built and released, not the model."""
