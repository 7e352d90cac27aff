"""meshgen: build population-density mesh artifacts from neuron model files.

Kept light to import: `miind run` reads artifacts through `meshgen.formats.mesh_artifact`
without loading scipy or shapely, which only the mesh builder needs.
"""

__version__ = "0.1.0"
