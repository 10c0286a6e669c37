FLASK_APP=portal:create_app
