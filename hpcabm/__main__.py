from hpcabm.core.cli import main

main()
