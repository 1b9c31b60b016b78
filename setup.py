"""tfkit: fine-tune, compress and export BERT-family text classifiers with TensorFlow/Keras 2."""

from setuptools import find_packages, setup

setup(
    name="tfkit",
    version="0.1.0",
    description="From a pretrained BERT-family checkpoint and labelled text to a small, fast TFLite model.",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["tfkit", "tfkit.*"]),
    package_data={"tfkit.export": ["web/*"]},  # the web page's HTML, JS and CSS (tfkit/export/web_page.py)
    install_requires=[
        "tensorflow-cpu==2.21.*",
        "tf-keras==2.21.*",
        "transformers>=4.57,<5",
        "tokenizers>=0.21",
        "safetensors>=0.4",
        "tensorflow-text==2.21.*",
        "tensorflow-model-optimization==0.8.1",
        "keras-tuner[bayesian]==1.4.8",
        "tensorboard==2.21.*",
        "ai-edge-litert>=2.0",
        "numpy>=1.26",
        "pandas>=2.0",
        "matplotlib>=3.7",
        "tqdm>=4.60",
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-timeout>=2.2", "pytest-xdist>=3.5", "hypothesis>=6", "nbclient>=0.10", "nbformat>=5.9", "ipykernel>=6.29"],
    },
    entry_points={"console_scripts": ["tfkit=tfkit.cli.main:main"]},
)
