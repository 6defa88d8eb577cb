"""Project settings chosen when the project was generated.

Edit them here; the package and its tools read them from this one place.
"""

PROJECT_SLUG = "{{ cookiecutter.project_slug }}"
PYTHON_VERSION = "{{ cookiecutter.python_version }}"
AZUREML_SDK = "{{ cookiecutter.azureml_sdk }}"
MODEL_NAME = "{{ cookiecutter.model_name }}"

# Azure Blob Storage that holds the training data.
STORAGE_ACCOUNT = "{{ cookiecutter.storage_account }}"
STORAGE_CONTAINER = "{{ cookiecutter.storage_container }}"
DATA_FILE = "{{ cookiecutter.data_file }}"

# Azure ML workspace.
AZURE_SUBSCRIPTION_ID = "{{ cookiecutter.azure_subscription_id }}"
AZUREML_RESOURCE_GROUP = "{{ cookiecutter.azureml_resource_group }}"
AZUREML_WORKSPACE = "{{ cookiecutter.azureml_workspace }}"
