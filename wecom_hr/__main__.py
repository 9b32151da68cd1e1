from wecom_hr.cli import main

main()
