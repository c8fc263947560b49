from accelplan.cli import main

main()
