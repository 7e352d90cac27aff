"""The project's files, each written and read here, side by side:

* mesh_artifact: the mesh artifact of `miind mesh` (format "miind-mesh"): 1D strip,
  2D grid and 2D strip meshes, validated on load;
* run_output (writer) and run_output_reader (reader): the output of `miind run`
  (format "miind-output");
* stamps: the root stamp every file carries (format, version, writer, input hash),
  checked before anything else is read, and datasets with units;
* atomic_file: writing a file so that a failure leaves none behind.

Files written by earlier versions are kept under tests/data/ and read by the tests.
"""
